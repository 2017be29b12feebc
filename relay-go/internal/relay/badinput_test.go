package relay

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
)

// Each test here is named in the bad-input table of docs/protocol.md.

func TestBadInputMalformedFrame(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-b", "alice")
	hello := a.enc.Ping(1, 1)
	for _, bad := range [][]byte{{1, 2, 3}, hello[:len(hello)-5], []byte(strings.Repeat("\xff", 64))} {
		a.send(bad)
		a.expectError(common.ErrorCodeMalformedFrame)
	}
	// The session is still usable.
	a.send(a.enc.Ping(5, 5))
	a.expect(protocol.MessagePong)
}

func TestBadInputUnknownMessage(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-b", "alice")
	a.send(a.enc.Raw(protocol.Message(200), func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		protocol.PingStart(b)
		return protocol.PingEnd(b)
	}))
	if er := a.expectError(common.ErrorCodeUnknownMessage); er.RequestType != 200 {
		t.Fatalf("%+v", er)
	}
}

func TestBadInputServerOnlyMessage(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-b", "alice")
	a.send(a.enc.Pong(1, 2, 3))
	if er := a.expectError(common.ErrorCodeNotClientMessage); er.RequestType != byte(protocol.MessagePong) {
		t.Fatalf("%+v", er)
	}
}

func TestBadInputDuplicateHello(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-b", "alice")
	a.send(a.enc.Hello(e.ticket("room-b", "alice", nil), "x", 1))
	a.expectError(common.ErrorCodeDuplicateHello)
}

func TestBadInputOversizedFrame(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.MaxFrameBytes = 4096 })
	a, _ := e.join("room-b", "alice")
	a.send(a.enc.ChatSend(strings.Repeat("x", 5000), 1))
	a.expectClose(common.CloseCodeMessageTooBig)
	// Far beyond the limit the frame is cut off while being read.
	b, _ := e.join("room-b", "bob")
	// The relay may drop the connection while the frame is still being
	// written, so the write error is expected too.
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	_ = b.c.Write(wctx, websocket.MessageBinary, make([]byte, 64<<10))
	if _, err := b.read(5 * time.Second); err == nil {
		t.Fatal("connection survived a 64 KiB frame")
	}
	// The relay keeps serving others.
	c, _ := e.join("room-b", "carol")
	c.send(c.enc.Ping(1, 1))
	c.expect(protocol.MessagePong)
}

func TestBadInputOversizedString(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.World.MaxChatBytes = 32 })
	a, _ := e.join("room-b", "alice")
	a.send(a.enc.ChatSend(strings.Repeat("y", 33), 4))
	a.expectError(common.ErrorCodeChatTooLong)
	// An oversized ticket is refused as malformed.
	b := e.dial()
	b.send(b.enc.Hello(strings.Repeat("t", 5000), "x", 1))
	b.expectClose(common.CloseCodeTicketMalformed)
}

func TestBadInputTextFrame(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-b", "alice")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	a.expectClose(common.CloseCodeProtocolViolation)
}

func TestBadInputFirstFrameNotHello(t *testing.T) {
	e := startRelay(t, nil)
	a := e.dial()
	a.send(a.enc.Ping(1, 1))
	a.expectClose(common.CloseCodeHelloExpected)
	b := e.dial()
	b.send([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	b.expectClose(common.CloseCodeHelloExpected)
}

func TestBadInputUnsupportedVersion(t *testing.T) {
	e := startRelay(t, nil)
	a := e.dial()
	a.send(a.enc.Hello(e.ticket("room-b", "alice", nil), "x", 2))
	a.expectClose(common.CloseCodeUnsupportedVersion)
}

func TestBadInputHelloTimeout(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.HelloTimeout = 200 * time.Millisecond })
	a := e.dial()
	start := time.Now()
	a.expectClose(common.CloseCodeHelloTimeout)
	if time.Since(start) > 2*time.Second {
		t.Fatal("hello timeout too slow")
	}
}

func TestBadInputIdleTimeout(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.IdleTimeout = 500 * time.Millisecond })
	a, _ := e.join("room-b", "alice")
	b, _ := e.join("room-b", "bob")
	c, _ := e.join("room-b", "carol")
	a.expect(protocol.MessageMemberJoined)
	a.expect(protocol.MessageMemberJoined)
	// Carol only sends WebSocket-level pings (as some client libraries do);
	// they count as activity too.
	go func() {
		for i := 0; i < 25; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.c.Ping(ctx) // needs a concurrent reader for the pong
			cancel()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	go func() {
		for {
			if _, err := c.read(5 * time.Second); err != nil {
				return
			}
		}
	}()
	// Bob keeps pinging until the test ends, Alice goes silent.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				_ = b.c.Write(context.Background(), websocket.MessageBinary, b.enc.Ping(1, 1))
			}
		}
	}()
	defer func() { close(stop); <-done }()
	a.expectClose(common.CloseCodeIdleTimeout)
	for {
		env, err := b.read(3 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if env.Message.Type == protocol.MessageMemberLeft {
			if ml := env.Message.Value.(*protocol.MemberLeftT); ml.Reason != common.LeaveReasonTimedOut || ml.UserId != "alice" {
				t.Fatalf("%+v", ml)
			}
			break
		}
	}
	// Carol, who only sent WebSocket pings, outlives two more timeouts.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		env, err := b.read(time.Until(deadline))
		if err != nil {
			break
		}
		if env.Message.Type == protocol.MessageMemberLeft {
			t.Fatalf("carol timed out despite WebSocket pings: %+v", env.Message.Value)
		}
	}
}

func TestBadInputNotPermitted(t *testing.T) {
	e := startRelay(t, nil)
	a := e.dial()
	a.send(a.enc.Hello(e.ticket("room-b", "alice", func(c map[string]any) { c["perms"] = []string{"move"} }), "x", 1))
	a.expect(protocol.MessageWelcome)
	a.send(a.enc.ChatSend("hi", 3))
	if er := a.expectError(common.ErrorCodeNotPermitted); er.RequestId != 3 {
		t.Fatalf("%+v", er)
	}
	a.send(a.enc.StateSet(nil2(4)))
	a.expectError(common.ErrorCodeNotPermitted)
}

func TestBadInputNonFiniteTransform(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-b", "alice")
	tr := at(1, 1)
	tr.Position[0] = float32(nan())
	a.send(a.enc.Move(tr, 1))
	a.expectError(common.ErrorCodeMalformedFrame)
}

func TestBadInputFloodAbuse(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-b", "alice")
	b, _ := e.join("room-b", "bob")
	a.expect(protocol.MessageMemberJoined)
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		if err := a.c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
			break // closed under us: expected
		}
	}
	a.expectClose(common.CloseCodeAbuse)
	// Bob sees Alice removed, and is untouched.
	if ml := b.expect(protocol.MessageMemberLeft).(*protocol.MemberLeftT); ml.Reason != common.LeaveReasonKicked {
		t.Fatalf("%+v", ml)
	}
	b.send(b.enc.Ping(1, 9))
	b.expect(protocol.MessagePong)
	if got := e.counter("closes", "4106"); got != 1 {
		t.Fatalf("abuse closes %v", got)
	}
}

func TestBadInputMovesOverTheRateCoalesce(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		c.World.MovesPerSecond, c.World.MoveBurst = 1, 3
		c.World.TickRateHz = 5
	})
	a, wa := e.join("room-b", "alice")
	b, _ := e.join("room-b", "bob")
	a.expect(protocol.MessageMemberJoined)
	for i := 0; i < 60; i++ {
		a.send(a.enc.Move(at(float32(i), 0), int64(i)))
	}
	// Far over the rate, nothing is refused: no Error, no abuse close, and
	// the newest Move is the one the room sends (latest wins).
	a.send(a.enc.Ping(1, 2))
	a.expect(protocol.MessagePong) // fails on an Error
	for {
		got := b.batchWith(wa.MemberId, 2*time.Second)
		if got.Transform.Position.X == 59 {
			break
		}
	}
}

// A TCP connection that never completes the WebSocket handshake is closed
// after the hello timeout; an upgraded session is not subject to it.
func TestBadInputHandshakeTimeout(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.HelloTimeout = 300 * time.Millisecond; c.IdleTimeout = 5 * time.Second })
	raw, err := net.Dial("tcp", e.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := raw.Read(make([]byte, 1)); err == nil {
		t.Fatal("relay sent data to a silent TCP connection")
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("silent TCP connection was not closed")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
	a, _ := e.join("room-h", "alice")
	for i := 0; i < 8; i++ { // 800 ms, well past the 300 ms handshake deadline
		time.Sleep(100 * time.Millisecond)
		a.send(a.enc.Ping(1, uint32(i)))
		a.expect(protocol.MessagePong)
	}
}
