// Package redisbridge is the relay's half of the Redis coordination layer
// (docs/redis.md, "The relay's half, exactly"): Redis implementations of the
// seams in internal/coord, plus the heartbeat.
//
//   - Heartbeat (coord.Reporter): MULTI; SET A relay:<id>:hb PX 3×interval;
//     SADD A relays <id>; EXEC, every heartbeat interval.
//   - Events (coord.EventSink): RoomEvent (PLZE) XADDed to P events by one
//     writer goroutine from a bounded in-memory buffer.
//   - Commands (coord.CommandSource): SUBSCRIBE P cmd:relay:<id> P cmd:all,
//     acks through Events.
//   - WorldConfigs (coord.WorldConfigSource): GET P world:{<world>}:config,
//     cached by version, updated by ReloadConfig.
//   - RoomStates (coord.RoomStateStore): P room:{<room>}:snapshot, written
//     on change (coalesced per room) and on close, read when a room opens;
//     restored only into the lifetime that wrote it.
//   - Assignments (coord.Assignments): HMGET A room:<room> relay lifetime
//     per join, and pipelined for every open room per re-check.
//   - UsedTickets (ticket.UsedTickets): SET P ticket_used:{<jti>} 1 NX
//     PXAT <exp+skew> per join.
//
// Client library: github.com/redis/go-redis/v9. The relay's Redis traffic is
// a handful of commands per second plus one pipelined event batch per
// writer round, so rueidis's auto-pipelining and client-side caching buy
// nothing here; go-redis gives explicit pipelines and MULTI (TxPipelined),
// a low-level pub/sub API (ReceiveTimeout) that lets us own re-subscription
// and its backoff, and is the library most Go operators already know.
//
// # What can be lost
//
//   - Events are at least once while the relay lives: the writer retries a
//     batch (one MULTI/EXEC, so all or nothing) until Redis takes it, in
//     publish order. A batch whose EXEC ran but whose reply was lost is sent
//     again: consumers dedupe by event_id. Events are lost when (a) the
//     buffer (--event-buffer) overflows during a long outage: the OLDEST
//     events are dropped and counted (plaza_relay_redis_events_dropped_total),
//     the event_id counter then has a gap; (b) the process dies (kill -9,
//     OOM) with events still buffered; (c) Shutdown's deadline passes while
//     Redis is still away.
//   - Commands are at most once (pub/sub): a command published while the
//     relay is not subscribed (Redis outage, reconnect window) is never seen;
//     the control plane sees no CommandAck and may re-issue it.
//   - Room snapshots: at most ~SnapshotDelay (100 ms) of state changes are
//     unwritten at any time; a crashed relay loses those. Sequence numbers
//     are learned from events: every event a room publishes carries the
//     sequence it reached (emotes and announcements publish an
//     EventSequenceAdvanced that never leaves the relay), so a room
//     restored from a crash snapshot continues from at most SnapshotDelay
//     behind. A clean close or drain saves the exact sequence.
//   - Heartbeats: a missed heartbeat is not retried; the next interval
//     writes a fresh one. Three missed in a row and the control plane
//     considers the relay dead.
//   - Movement never goes through Redis.
package redisbridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// Config configures a Bridge. Zero values get the documented defaults.
type Config struct {
	// URL is a redis:// URL (required), e.g. redis://127.0.0.1:6379/0.
	URL string
	// Prefix starts every key and channel; "" = "plaza:".
	Prefix  string
	RelayID string // required
	// HeartbeatInterval between heartbeats; the key lives 3× as long.
	// 0 = 2 s.
	HeartbeatInterval time.Duration
	// EventBuffer is the most events held while Redis is slow or away;
	// 0 = 100000.
	EventBuffer int
	// DefaultWorld is the config of worlds with none in Redis (the relay's
	// flags). Its WorldID is replaced by the world asked for.
	DefaultWorld coord.WorldConfig
	// Logger; nil discards.
	Logger *slog.Logger
	// SnapshotDelay is the longest a room state change waits before its
	// snapshot is written (one write per room per delay); 0 = 100 ms.
	SnapshotDelay time.Duration
	// WorldConfigMaxAge is how long a fetched world config is served from
	// the cache before the next room open of that world GETs it again;
	// 0 = 2 s.
	WorldConfigMaxAge time.Duration
	// OnHeartbeatLost is called (optional) when the relay finds its own
	// heartbeat key gone: its rooms may have been re-homed.
	OnHeartbeatLost func(gap time.Duration)
}

// Bridge owns the Redis client and every Redis seam of one relay.
type Bridge struct {
	cfg      Config
	log      *slog.Logger
	rdb      *redis.Client
	metrics  *bridgeMetrics
	keyspace keyspace

	Heartbeat *Heartbeat
	Events    *Events
	Commands  *Commands
	Worlds    *WorldConfigs
	States    *RoomStates
	// Assignments and UsedTickets are the Hello path's checks (decision
	// 009): the room lifetime's allocation and single use of tickets.
	Assignments *Assignments
	UsedTickets *UsedTickets

	health  atomic.Pointer[healthState]
	stop    chan struct{} // closed by Shutdown: flush and stop
	hardCtx context.Context
	hard    context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	running atomic.Bool
}

type healthState struct{ err error }

// New validates cfg and builds the bridge; nothing connects until Run (the
// client dials lazily).
func New(cfg Config) (*Bridge, error) {
	if cfg.URL == "" || cfg.RelayID == "" {
		return nil, errors.New("new redis bridge: URL and RelayID are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = defaultPrefix
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 2 * time.Second
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 100000
	}
	if cfg.SnapshotDelay <= 0 {
		cfg.SnapshotDelay = 100 * time.Millisecond
	}
	if cfg.WorldConfigMaxAge <= 0 {
		cfg.WorldConfigMaxAge = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := cfg.DefaultWorld.Validate(); err != nil {
		return nil, fmt.Errorf("new redis bridge: default world: %w", err)
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("new redis bridge: %w", err)
	}
	// Fail fast: the relay never waits long on Redis; callers retry.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
	opt.MaxRetries = 0
	opt.DialerRetries, opt.DialerRetryTimeout = 1, 50*time.Millisecond
	opt.ClientName = "plaza-relay-" + cfg.RelayID
	b := &Bridge{cfg: cfg, log: cfg.Logger.With("component", "redis"), rdb: redis.NewClient(opt), metrics: newMetrics(), keyspace: keyspace{p: cfg.Prefix, relay: cfg.RelayID}, stop: make(chan struct{})}
	b.hardCtx, b.hard = context.WithCancel(context.Background())
	b.health.Store(&healthState{err: errors.New("redis not checked yet")})
	b.Events = newEvents(b)
	b.States = newRoomStates(b)
	b.Events.observe = b.States.observe
	b.Heartbeat = newHeartbeat(b)
	b.Commands = newCommands(b)
	b.Worlds = newWorldConfigs(b)
	b.Assignments = &Assignments{b: b}
	b.UsedTickets = &UsedTickets{b: b}
	return b, nil
}

// SetClientLogger routes go-redis's own log lines (dial failures) to log
// at Debug level; the bridge logs what matters itself. It sets a process
// global, so only main (and tests) call it.
func SetClientLogger(log *slog.Logger) { redis.SetLogger(clientLogger{log}) }

type clientLogger struct{ log *slog.Logger }

func (c clientLogger) Printf(ctx context.Context, format string, v ...any) {
	c.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// Collectors returns the bridge's metrics, to register on the relay's
// registry.
func (b *Bridge) Collectors() []prometheus.Collector { return b.metrics.all() }

// Client returns the Redis client (tests, tools).
func (b *Bridge) Client() *redis.Client { return b.rdb }

// Run runs the event writer, the snapshot flusher and the health checker
// until ctx ends or Shutdown is called. Heartbeats and commands run on the
// relay's goroutines (Reporter, CommandSource).
func (b *Bridge) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("redis bridge: Run called twice")
	}
	b.wg.Add(3)
	go func() { defer b.wg.Done(); b.Events.write(b.hardCtx) }()
	go func() { defer b.wg.Done(); b.States.flushLoop(b.hardCtx) }()
	go func() { defer b.wg.Done(); b.checkHealth(b.hardCtx) }()
	select {
	case <-ctx.Done():
		b.hard()
	case <-b.stop:
	case <-b.hardCtx.Done():
	}
	b.wg.Wait()
	return nil
}

// Shutdown flushes what is buffered (events, dirty snapshots) while ctx
// allows, removes the heartbeat key (the relay is gone: its rooms may move
// at once) and closes the client. Call it after the relay stopped.
func (b *Bridge) Shutdown(ctx context.Context) error {
	var err error
	b.once.Do(func() {
		close(b.stop)
		if b.running.Load() {
			done := make(chan struct{})
			go func() { b.Events.waitFlushed(ctx); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
			}
		}
		b.hard()
		b.wg.Wait()
		if n := b.Events.Buffered(); n > 0 {
			b.log.Error("events lost at shutdown: redis did not take them in time", "events", n)
			err = fmt.Errorf("redis bridge shutdown: %d events not written", n)
		}
		b.States.flushAll(ctx)
		if e := b.Heartbeat.remove(ctx); e != nil && err == nil {
			err = e
		}
		_ = b.rdb.Close()
	})
	return err
}

// Ready implements relay.ReadyChecker (through the seams that embed it):
// an error while Redis does not answer PING.
func (b *Bridge) Ready(context.Context) error { return b.health.Load().err }

func (b *Bridge) checkHealth(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := b.rdb.Ping(pctx).Err()
		cancel()
		if ctx.Err() != nil {
			return
		}
		prev := b.health.Load().err
		if err != nil {
			err = fmt.Errorf("redis unreachable: %w", err)
			if prev == nil {
				b.log.Warn("redis unreachable", "err", err)
			}
			b.metrics.up.Set(0)
		} else {
			if prev != nil {
				b.log.Info("redis reachable")
			}
			b.metrics.up.Set(1)
		}
		b.health.Store(&healthState{err: err})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// redisError counts a failed Redis operation.
func (b *Bridge) redisError(op string) { b.metrics.errors.WithLabelValues(op).Inc() }

// backoff is exponential with full jitter, between 50 ms and 5 s.
type backoff struct{ n int }

func (bo *backoff) next() time.Duration {
	d := 50 * time.Millisecond << min(bo.n, 7)
	bo.n++
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}
func (bo *backoff) reset() { bo.n = 0 }

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
