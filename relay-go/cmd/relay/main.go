// Command relay runs a Plaza relay: WebSocket sessions, rooms, movement,
// chat and room state. Configuration comes from flags and PLAZA_RELAY_*
// environment variables (docs/relay.md). SIGTERM or SIGINT drains the relay
// (clients are told to rejoin elsewhere) and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/ecslog"
	"github.com/plaza-dev/plaza/relay-go/internal/redisbridge"
	"github.com/plaza-dev/plaza/relay-go/internal/relay"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// Catch signals first: a SIGTERM during start-up must drain, not kill.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg, err := config.Parse(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := ecslog.New(os.Stderr, cfg.LogLevel, "plaza-relay").With("relay_id", cfg.RelayID)
	seams := relay.Seams{}
	var bridge *redisbridge.Bridge
	if cfg.RedisURL != "" {
		// The Redis heartbeat is the load report.
		cfg.ReportInterval = cfg.HeartbeatInterval
		redisbridge.SetClientLogger(log)
		if bridge, err = redisbridge.FromConfig(cfg, log); err != nil {
			log.Error("relay failed to start", "err", err)
			return 1
		}
		seams = bridge.RelaySeams()
	}
	srv, err := relay.New(cfg, seams, log)
	if err != nil {
		log.Error("relay failed to start", "err", err)
		return 1
	}
	if bridge != nil {
		detach := bridge.Attach(ctx, srv)
		defer detach()
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("relay stopped with an error", "err", err)
		return 1
	}
	log.Info("relay stopped")
	return 0
}
