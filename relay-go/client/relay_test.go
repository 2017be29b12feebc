package client_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/relay"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
)

// testRelay is a real relay (relay.Server, standalone: memory seams) run in
// this process on a loopback port, with a test key whose tickets it takes.
type testRelay struct {
	url    string
	signer *tickettest.Signer
	stop   func()
}

const testRelayID = "client-test-relay"

// startRelay starts a relay; stop shuts it down and waits for it.
func startRelay() (*testRelay, error) {
	dir, err := os.MkdirTemp("", "plaza-client-test")
	if err != nil {
		return nil, err
	}
	signer := tickettest.NewSigner("client-test")
	jwks := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwks, tickettest.JWKS(signer), 0o644); err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Listen, cfg.AdminListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RelayID, cfg.JWKSFile = testRelayID, jwks
	cfg.World.TickRateHz = 50
	srv, err := relay.New(cfg, relay.Seams{Keys: ticket.StaticKeys{signer.Kid: signer.Pub}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
		}
		_ = os.RemoveAll(dir)
	}
	for deadline := time.Now().Add(5 * time.Second); srv.Addr() == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			stop()
			return nil, context.DeadlineExceeded
		}
	}
	return &testRelay{url: "ws://" + srv.Addr() + "/ws", signer: signer, stop: stop}, nil
}

// ticket mints a ticket for user in room, as the control plane would.
func (r *testRelay) ticket(room, user string) string {
	return r.signer.Mint(tickettest.Claims(testRelayID, room, user))
}

func mustStartRelay(t *testing.T) *testRelay {
	t.Helper()
	r, err := startRelay()
	if err != nil {
		t.Fatalf("start relay: %v", err)
	}
	t.Cleanup(r.stop)
	return r
}
