package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
	relayconfig "github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/relay"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
)

// fakeControl answers sign-in and join like the control plane, minting
// tickets for whichever relay is current, and records every join body.
type fakeControl struct {
	signer *tickettest.Signer
	mu     sync.Mutex
	relay  struct{ id, url string }
	badTk  bool
	joins  []map[string]any
}

func (f *fakeControl) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/v1/auth/guest":
		_ = json.NewEncoder(w).Encode(map[string]any{"session_token": "s", "user_id": "u1"})
	case "/v1/join":
		f.joins = append(f.joins, body)
		room, _ := body["room_id"].(string)
		if room == "" {
			room = "lobby-1"
		}
		tk := f.signer.Mint(tickettest.Claims(f.relay.id, room, "u1"))
		if f.badTk {
			tk = "not-a-ticket"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"relay_url": f.relay.url, "ticket": tk, "room_id": room})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeControl) set(id, url string, bad bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.relay.id, f.relay.url, f.badTk = id, url, bad
}

func (f *fakeControl) joinBodies() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.joins...)
}

// startRelay runs a standalone relay taking signer's tickets; cancel drains it.
func startRelay(t *testing.T, id string, signer *tickettest.Signer) (url string, drain func()) {
	t.Helper()
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, tickettest.JWKS(signer), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := relayconfig.Default()
	cfg.Listen, cfg.AdminListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RelayID, cfg.JWKSFile = id, jwks
	srv, err := relay.New(cfg, relay.Seams{Keys: ticket.StaticKeys{signer.Kid: signer.Pub}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	drain = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("relay did not stop")
			}
		})
	}
	t.Cleanup(drain)
	for deadline := time.Now().Add(5 * time.Second); srv.Addr() == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("relay did not listen")
		}
	}
	return "ws://" + srv.Addr() + "/ws", drain
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Against real relays: a drained bot rejoins the same room (the notice's),
// resuming its session, on the relay the control plane names next.
func TestBotRejoinsTheRoomAfterADrain(t *testing.T) {
	signer := tickettest.NewSigner("bots")
	urlA, drainA := startRelay(t, "relay-a", signer)
	urlB, _ := startRelay(t, "relay-b", signer)
	fc := &fakeControl{signer: signer}
	fc.set("relay-a", urlA, false)
	hs := httptest.NewServer(fc)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &config{moveHz: 10, chatEvery: time.Hour, area: 10}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runBot(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), client.NewControl(hs.URL, "lobby"), c, 0)
	}()
	eventually(t, "the first join", func() bool { return len(fc.joinBodies()) == 1 })
	time.Sleep(200 * time.Millisecond) // let it get its Welcome
	fc.set("relay-b", urlB, false)
	drainA()
	eventually(t, "the rejoin", func() bool { return len(fc.joinBodies()) >= 2 })
	rejoin := fc.joinBodies()[1]
	if rejoin["room_id"] != "lobby-1" || rejoin["resume_session_id"] == nil || rejoin["resume_session_id"] == "" {
		t.Fatalf("rejoin body %v: want room lobby-1 and the session to resume", rejoin)
	}
	cancel()
	<-done
}

// A Hello refused with a terminal code (4101, a malformed ticket) stops the
// bot after one join, instead of retrying.
func TestBotStopsOnATerminalRefusal(t *testing.T) {
	signer := tickettest.NewSigner("bots")
	url, _ := startRelay(t, "relay-a", signer)
	fc := &fakeControl{signer: signer}
	fc.set("relay-a", url, true)
	hs := httptest.NewServer(fc)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runBot(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), client.NewControl(hs.URL, "lobby"), &config{moveHz: 10, chatEvery: time.Hour, area: 10}, 0)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("bot still running after a terminal refusal")
	}
	if n := len(fc.joinBodies()); n != 1 {
		t.Fatalf("%d joins, want 1 (no retry after a terminal code)", n)
	}
}
