package redisbridge

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	gen "github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/relay"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// testRelay is a real relay wired to the test Redis through a bridge.
type testRelay struct {
	srv    *relay.Server
	b      *Bridge
	signer *tickettest.Signer
	cfg    config.Config
}

// startRelay runs a relay with --redis-url on the test server; stop is
// registered as cleanup (and may be called earlier: a relay going away).
func startRelay(t *testing.T, relayID, prefix string) (*testRelay, func()) {
	t.Helper()
	return startRelayWith(t, relayID, prefix, tickettest.NewSigner("k1"), nil)
}

// startRelayWith is startRelay with the ticket signer given (a restarted
// relay trusts the same key) and edit applied to the config.
func startRelayWith(t *testing.T, relayID, prefix string, signer *tickettest.Signer, edit func(*config.Config)) (*testRelay, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.Listen, cfg.AdminListen, cfg.RelayID = "127.0.0.1:0", "127.0.0.1:0", relayID
	cfg.JWKSFile = "relay_test.go" // replaced by Seams.Keys; must exist for Validate
	cfg.RedisURL, cfg.RedisPrefix, cfg.HeartbeatInterval = testRedis.url, prefix, 200*time.Millisecond
	cfg.ReportInterval = cfg.HeartbeatInterval
	cfg.DrainTimeout = 2 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := FromConfig(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	seams := b.RelaySeams()
	seams.Keys = ticket.StaticKeys{signer.Kid: signer.Pub}
	srv, err := relay.New(cfg, seams, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	detach := b.Attach(ctx, srv)
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-runErr:
			case <-time.After(15 * time.Second):
				t.Error("relay did not stop")
			}
			detach()
		})
	}
	t.Cleanup(stop)
	eventually(t, 5*time.Second, "relay listening", func() bool { return srv.Addr() != "" && srv.AdminAddr() != "" })
	return &testRelay{srv: srv, b: b, signer: signer, cfg: cfg}, stop
}

// wsClient is a protocol client on a real WebSocket.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	enc  *wire.Encoder
}

// allocate writes room's allocation as the control plane's join.lua does:
// A room:<room> fields relay (this relay) and lifetime.
func (r *testRelay) allocate(t *testing.T, room string, lifetime uint64) {
	t.Helper()
	if err := rdb(t).HSet(context.Background(), r.b.keyspace.room(room), "relay", r.cfg.RelayID, "lifetime", lifetime).Err(); err != nil {
		t.Fatal(err)
	}
}

// join allocates room to r at lifetime 1, dials r and joins room as user;
// it returns the client and Welcome.
func (r *testRelay) join(t *testing.T, room, user string) (*wsClient, *protocol.WelcomeT) {
	t.Helper()
	r.allocate(t, room, 1)
	c := r.dial(t, r.signer.Mint(tickettest.Claims(r.cfg.RelayID, room, user)))
	return c, c.expect(protocol.MessageWelcome).Message.Value.(*protocol.WelcomeT)
}

// dial connects to r and sends a Hello with ticket.
func (r *testRelay) dial(t *testing.T, ticket string) *wsClient {
	t.Helper()
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, "ws://"+r.srv.Addr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	c := &wsClient{t: t, conn: conn, enc: wire.NewEncoder(256)}
	c.send(c.enc.Hello(ticket, "go/test", 1))
	return c
}

func (c *wsClient) send(frame []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
		c.t.Fatal(err)
	}
}

// expect skips frames until one of type typ.
func (c *wsClient) expect(typ protocol.Message) *protocol.EnvelopeT {
	c.t.Helper()
	for {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, buf, err := c.conn.Read(rctx)
		rcancel()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", protocol.EnumNamesMessage[typ], err)
		}
		env := protocol.GetRootAsEnvelope(buf, 0).UnPack()
		if env.Message != nil && env.Message.Type == typ {
			return env
		}
	}
}

// A real relay with --redis-url: a chat message sent over WebSocket shows
// up as a ChatMessageEvent on P events; the relay heartbeats Ready; a Redis
// outage turns /readyz 503 while the room keeps running, and the chat sent
// during the outage reaches the stream after Redis is back; commands
// arrive through pub/sub and are acknowledged.
func TestRelayWithRedis(t *testing.T) {
	r, _ := startRelay(t, "relay-it", testPrefix())
	srv, b, cfg := r.srv, r.b, r.cfg
	readyz := func() int {
		resp, err := http.Get("http://" + srv.AdminAddr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, 5*time.Second, "/readyz 200", func() bool { return readyz() == http.StatusOK })
	eventually(t, 5*time.Second, "Ready heartbeat", func() bool {
		buf, err := rdb(t).Get(context.Background(), b.keyspace.relayHB()).Bytes()
		return err == nil && gen.GetRootAsRelayHeartbeat(buf, 0).State() == gen.RelayStateReady
	})

	// Join and chat over a real WebSocket.
	cl, _ := r.join(t, "room-it", "u_it")
	enc, send, expect := cl.enc, cl.send, cl.expect
	send(enc.ChatSend("hello through redis", 1))
	expect(protocol.MessageChatMessage)

	findChat := func(text string) *gen.ChatMessageEventT {
		for _, e := range readEvents(t, b) {
			if c, ok := e.Body.Value.(*gen.ChatMessageEventT); ok && c.Text == text && e.RoomId == "room-it" && e.WorldId == "world-1" && e.RelayId == "relay-it" {
				return c
			}
		}
		return nil
	}
	eventually(t, 5*time.Second, "ChatMessageEvent on the stream", func() bool { return findChat("hello through redis") != nil })
	if c := findChat("hello through redis"); c.UserId != "u_it" || c.Sequence == 0 {
		t.Fatalf("chat event %+v", c)
	}

	// Redis outage: not ready, but the room keeps running.
	stopRedis()
	restarted := false
	defer func() {
		if !restarted {
			_ = startRedis()
		}
	}()
	eventually(t, 5*time.Second, "/readyz 503 while redis is down", func() bool { return readyz() == http.StatusServiceUnavailable })
	send(enc.ChatSend("said during the outage", 2))
	if env := expect(protocol.MessageChatMessage); env.Message.Value.(*protocol.ChatMessageT).Text != "said during the outage" {
		t.Fatalf("chat during outage: %+v", env.Message.Value)
	}
	if err := startRedis(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	// The test Redis restarts empty: write the room's allocation again, as
	// a Redis that kept its data would hold it (else the assignment
	// re-check rightly closes the room).
	r.allocate(t, "room-it", 1)
	eventually(t, 10*time.Second, "outage chat on the stream", func() bool { return findChat("said during the outage") != nil })
	eventually(t, 10*time.Second, "/readyz 200 again", func() bool { return readyz() == http.StatusOK })
	eventually(t, 5*time.Second, "heartbeat back", func() bool {
		n, _ := rdb(t).Exists(context.Background(), b.keyspace.relayHB()).Result()
		return n == 1
	})

	// Commands through pub/sub reach the hub and are acknowledged: a
	// ReloadConfig (broadcast) and a Kick of our user.
	eventually(t, 10*time.Second, "re-subscribed", b.Commands.Subscribed)
	wc := cfg.World
	wc.WorldID, wc.Version, wc.MaxChatBytes = "world-1", 5, 64
	c := rdb(t)
	_ = c.Publish(context.Background(), b.keyspace.cmdAll(), encodeCommand("c-reload", "", &gen.CommandBodyT{Type: gen.CommandBodyReloadConfig, Value: &gen.ReloadConfigT{Config: worldToT(wc)}})).Err()
	if ack := ackFor(t, b, "c-reload"); !ack.Ok || ack.Detail != "reload_config affected 1" {
		t.Fatalf("reload ack %+v", ack)
	}
	if w, _ := b.Worlds.WorldConfig(context.Background(), "world-1"); w.Version != 5 || w.MaxChatBytes != 64 {
		t.Fatalf("world config after reload %+v", w)
	}
	_ = c.Publish(context.Background(), b.keyspace.cmdRelay(), encodeCommand("c-kick", "relay-it", &gen.CommandBodyT{Type: gen.CommandBodyKick, Value: &gen.KickT{RoomId: "room-it", UserId: "u_it"}})).Err()
	if ack := ackFor(t, b, "c-kick"); !ack.Ok || ack.Detail != "kick affected 1" {
		t.Fatalf("kick ack %+v", ack)
	}
}

// A room re-homed on another relay continues with its state and above its
// sequence: relay A holds the room (join, chat, state set, then the member
// leaves); A disappears without closing the room (its snapshot is the
// batched on-change one, not final); relay B opens the room from Redis and
// continues above relay.SequenceGapAfterLostState (A may have delivered
// events the snapshot missed).
func TestRoomReHomedKeepsStateAndSequence(t *testing.T) {
	prefix := testPrefix()
	a, _ := startRelay(t, "relay-a", prefix)
	cl, w := a.join(t, "room-h", "u_1")
	if w.Snapshot.Sequence != 1 {
		t.Fatalf("first join sequence %d", w.Snapshot.Sequence)
	}
	cl.send(cl.enc.ChatSend("hi", 1))
	cl.expect(protocol.MessageChatMessage)
	cl.send(cl.enc.StateSet(&wire.StateSet{Key: "door", Value: []byte("open"), RequestID: 2}))
	cl.expect(protocol.MessageStateChanged)
	cl2, _ := a.join(t, "room-h", "u_2") // sequence 4
	_ = cl2.conn.Close(websocket.StatusNormalClosure, "bye")
	// Sequence now 5 (u_2 left). Wait for the on-change snapshot.
	c := rdb(t)
	key := prefix + "room:{room-h}:snapshot"
	eventually(t, 5*time.Second, "on-change snapshot", func() bool {
		buf, err := c.Get(context.Background(), key).Bytes()
		if err != nil {
			return false
		}
		s, err := decodeSnapshot(buf)
		return err == nil && s.Sequence == 5 && len(s.Entries) == 1
	})

	// Relay B: the room opens there from the snapshot.
	bRelay, _ := startRelay(t, "relay-b", prefix)
	_, w = bRelay.join(t, "room-h", "u_3")
	if want := uint64(5 + relay.SequenceGapAfterLostState + 1); w.Snapshot.Sequence != want {
		t.Fatalf("re-homed room welcome sequence %d, want %d (5 restored + the gap + this join)", w.Snapshot.Sequence, want)
	}
	if len(w.Snapshot.State) != 1 || w.Snapshot.State[0].Key != "door" || string(w.Snapshot.State[0].Value) != "open" || w.Snapshot.State[0].Version != 1 {
		t.Fatalf("re-homed room state %+v", w.Snapshot.State)
	}
}
