package redisbridge

import (
	"context"
	"log/slog"
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/relay"
)

// FromConfig builds a bridge from the relay's configuration
// (--redis-url, --redis-prefix, --heartbeat-interval, --event-buffer; the
// world flags are the default world config).
func FromConfig(cfg config.Config, log *slog.Logger) (*Bridge, error) {
	return New(Config{
		URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, RelayID: cfg.RelayID,
		HeartbeatInterval: cfg.HeartbeatInterval, EventBuffer: cfg.EventBuffer,
		DefaultWorld: cfg.World, Logger: log,
	})
}

// RelaySeams returns the bridge's seams for relay.New: every seam on
// Redis, the room allocations the control plane writes included, so a
// ticket opens only the room lifetime allocated to this relay, and a
// ticket is used once across relays and restarts (decision 009).
func (b *Bridge) RelaySeams() relay.Seams {
	return relay.Seams{Worlds: b.Worlds, Events: b.Events, States: b.States, Commands: b.Commands, Reporter: b.Heartbeat,
		Assignments: b.Assignments, UsedTickets: b.UsedTickets}
}

// Attach connects the bridge to a built (not yet running) relay: it
// registers the bridge's metrics on the relay's registry, starts Run,
// writes a Starting heartbeat, and marks later heartbeats Stopping once
// ctx (the process's signal context) ends. The returned func, called after
// the relay stopped, flushes and shuts the bridge down.
func (b *Bridge) Attach(ctx context.Context, srv *relay.Server) (detach func()) {
	srv.Metrics.Registry.MustRegister(b.Collectors()...)
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = b.Run(context.Background()) }()
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	if err := b.Heartbeat.Register(rctx, srv.Hub.Load()); err != nil {
		b.log.Warn("starting heartbeat failed; the next interval retries", "err", err)
	}
	cancel()
	stopWatch := context.AfterFunc(ctx, b.Heartbeat.SetStopping)
	return func() {
		stopWatch()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Shutdown(sctx); err != nil {
			b.log.Error("redis bridge shutdown", "err", err)
		}
		<-runDone
	}
}
