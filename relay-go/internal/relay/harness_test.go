package relay

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/metrics"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

const testRelay = "relay-test"

// testRelayEnv is one running relay with its seams, on loopback.
type testRelayEnv struct {
	t        testing.TB
	srv      *Server
	signer   *tickettest.Signer
	events   *coord.MemoryEvents
	states   *coord.MemoryRoomStates
	assign   *coord.MemoryAssignments
	commands *coord.MemoryCommands
	worlds   *coord.MemoryWorldConfigs
	runErr   chan error
	cancel   context.CancelFunc
}

func testConfig() config.Config {
	c := config.Default()
	c.Listen, c.AdminListen = "127.0.0.1:0", "127.0.0.1:0"
	c.RelayID = testRelay
	c.JWKSFile = "harness_test.go" // replaced by Seams.Keys; must exist for Validate
	c.HelloTimeout, c.IdleTimeout = 2*time.Second, 5*time.Second
	c.DrainTimeout = 5 * time.Second
	c.World.TickRateHz = 50
	c.World.EmptyGrace = time.Minute
	c.World.ChatsPerSecond, c.World.ChatBurst = 100, 100
	c.World.StateSetsPerSecond, c.World.StateSetBurst = 100, 100
	c.World.EmotesPerSecond, c.World.EmoteBurst = 100, 100
	c.ReportInterval = 100 * time.Millisecond
	return c
}

func testLogger() *slog.Logger {
	if os.Getenv("PLAZA_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startRelay runs a relay for the test; edit tweaks the config first.
func startRelay(t testing.TB, edit func(*config.Config)) *testRelayEnv {
	t.Helper()
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	e := &testRelayEnv{t: t, signer: tickettest.NewSigner("k1"), events: coord.NewMemoryEvents(10000),
		states: coord.NewMemoryRoomStates(), assign: &coord.MemoryAssignments{}, worlds: coord.NewMemoryWorldConfigs(cfg.World), runErr: make(chan error, 1)}
	e.commands = coord.NewMemoryCommands(16, e.events)
	srv, err := New(cfg, Seams{Worlds: e.worlds, Events: e.events, States: e.states, Assignments: e.assign, Commands: e.commands,
		Keys: ticket.StaticKeys{e.signer.Kid: e.signer.Pub}}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.runErr <- srv.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Addr() == "" || srv.AdminAddr() == "" {
		if time.Now().After(deadline) {
			t.Fatal("relay did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-e.runErr:
		case <-time.After(15 * time.Second):
			t.Error("relay did not stop")
		}
	})
	return e
}

func (e *testRelayEnv) url() string { return "ws://" + e.srv.Addr() + "/ws" }

func (e *testRelayEnv) ticket(room, user string, edit func(map[string]any)) string {
	c := tickettest.Claims(testRelay, room, user)
	if edit != nil {
		edit(c)
	}
	return e.signer.Mint(c)
}

// metric reads a counter or gauge from the relay's registry.
func (e *testRelayEnv) counter(name string, labels ...string) float64 {
	e.t.Helper()
	switch name {
	case "ticket_rejections":
		return testutil.ToFloat64(e.srv.Metrics.TicketRejections.WithLabelValues(labels...))
	case "slow_consumers":
		return testutil.ToFloat64(e.srv.Metrics.SlowConsumers)
	case "closes":
		code, err := strconv.Atoi(labels[0])
		if err != nil {
			e.t.Fatalf("close code %q: %v", labels[0], err)
		}
		return testutil.ToFloat64(e.srv.Metrics.Closes.WithLabelValues(labels[0], metrics.CloseReason(common.CloseCode(code))))
	case "drops":
		return testutil.ToFloat64(e.srv.Metrics.SendQueueDrops.WithLabelValues(labels...))
	}
	e.t.Fatalf("unknown metric %s", name)
	return 0
}

// client is a real WebSocket client (coder/websocket) speaking the protocol.
type client struct {
	t   testing.TB
	c   *websocket.Conn
	enc *wire.Encoder
}

func dialOpts(t testing.TB, url string, opts *websocket.DialOptions) (*client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 22)
	cl := &client{t: t, c: c, enc: wire.NewEncoder(256)}
	t.Cleanup(func() { _ = c.CloseNow() })
	return cl, nil
}

func (e *testRelayEnv) dial() *client {
	e.t.Helper()
	c, err := dialOpts(e.t, e.url(), nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	return c
}

// join dials, sends a Hello for user in room and returns the client and its
// Welcome.
func (e *testRelayEnv) join(room, user string) (*client, *protocol.WelcomeT) {
	e.t.Helper()
	c := e.dial()
	c.send(c.enc.Hello(e.ticket(room, user, nil), "go/test", 1))
	w := c.expect(protocol.MessageWelcome).(*protocol.WelcomeT)
	return c, w
}

func (c *client) send(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame, or the read error.
func (c *client) read(timeout time.Duration) (*protocol.EnvelopeT, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, b, err := c.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageBinary {
		c.t.Fatalf("relay sent a %v frame", typ)
	}
	if !protocol.EnvelopeBufferHasIdentifier(b) {
		c.t.Fatalf("relay frame without PLZP identifier")
	}
	return protocol.GetRootAsEnvelope(b, 0).UnPack(), nil
}

// expect returns the next frame of type typ, skipping movement batches and
// failing on anything else.
func (c *client) expect(typ protocol.Message) any {
	c.t.Helper()
	return c.expectWithin(typ, 5*time.Second)
}

func (c *client) expectWithin(typ protocol.Message, timeout time.Duration) any {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatalf("no %s within %v", protocol.EnumNamesMessage[typ], timeout)
		}
		env, err := c.read(left)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", protocol.EnumNamesMessage[typ], err)
		}
		if env.Message == nil {
			c.t.Fatal("frame without message")
		}
		if env.Message.Type == typ {
			return env.Message.Value
		}
		if env.Message.Type == protocol.MessageMovementBatch && typ != protocol.MessageMovementBatch {
			continue
		}
		c.t.Fatalf("got %s while waiting for %s: %+v", protocol.EnumNamesMessage[env.Message.Type], protocol.EnumNamesMessage[typ], env.Message.Value)
	}
}

// expectError returns the next Error frame and checks its code.
func (c *client) expectError(code common.ErrorCode) *protocol.ErrorT {
	c.t.Helper()
	e := c.expect(protocol.MessageError).(*protocol.ErrorT)
	if e.Code != code {
		c.t.Fatalf("error code %s (%q), want %s", e.Code, e.Message, code)
	}
	return e
}

// expectClose reads until the connection closes and checks the close code.
// Frames before the close are skipped.
func (c *client) expectClose(code common.CloseCode) string {
	c.t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		_, err := c.read(time.Until(deadline))
		if err == nil {
			continue
		}
		got := websocket.CloseStatus(err)
		if int(got) != int(code) {
			c.t.Fatalf("closed with %d (%v), want %d", got, err, code)
		}
		var ce websocket.CloseError
		if ok := asCloseError(err, &ce); ok {
			return ce.Reason
		}
		return ""
	}
}

// smallReceiveBuffer dials with a tiny socket receive buffer so a client
// that stops reading backs the relay up quickly.
func smallReceiveBuffer() *websocket.DialOptions {
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}}
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
