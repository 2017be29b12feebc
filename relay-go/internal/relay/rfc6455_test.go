package relay

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

// rawWS is a hand-rolled WebSocket client that can break the framing rules
// a real client library enforces.
type rawWS struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
	// trickle writes a frame one byte per TCP segment, so the relay reads
	// its header (and payload) in pieces.
	trickle bool
}

func dialRaw(t *testing.T, addr string) *rawWS {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	rd := bufio.NewReader(c)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return &rawWS{t: t, c: c, rd: rd}
}

// frame writes one final frame; masked selects a (fixed, non-zero) mask.
func (w *rawWS) frame(opcode byte, payload []byte, masked bool) {
	w.t.Helper()
	b := []byte{0x80 | opcode}
	mask := byte(0)
	if masked {
		mask = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, mask|byte(n))
	default:
		b = append(b, mask|126, byte(n>>8), byte(n))
	}
	p := append([]byte(nil), payload...)
	if masked {
		key := [4]byte{0x12, 0x34, 0x56, 0x78}
		b = append(b, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	b = append(b, p...)
	if !w.trickle {
		if _, err := w.c.Write(b); err != nil {
			w.t.Fatalf("write: %v", err)
		}
		return
	}
	for i := range b {
		if _, err := w.c.Write(b[i : i+1]); err != nil {
			w.t.Fatalf("write: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// next reads one server frame.
func (w *rawWS) next() (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(w.rd, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(w.rd, l[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(w.rd, l[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.rd, payload)
	return h[0] & 0x0f, payload, err
}

// An unmasked client frame is refused with close 1002 (RFC 6455 section
// 5.1: the server MUST close the connection); masked ones before it are
// served. Before the fix nbio accepted it.
func TestBadInputUnmaskedFrame(t *testing.T) {
	e := startRelay(t, nil)
	w := dialRaw(t, e.srv.Addr())
	w.frame(0x9, []byte("hi"), true) // a masked ping is answered
	if op, p, err := w.next(); err != nil || op != 0xA || string(p) != "hi" {
		t.Fatalf("pong: op %#x %q %v", op, p, err)
	}
	// Also when its header and payload arrive in separate reads.
	w.trickle = true
	w.frame(0x9, []byte("again"), true)
	if op, p, err := w.next(); err != nil || op != 0xA || string(p) != "again" {
		t.Fatalf("pong: op %#x %q %v", op, p, err)
	}
	w.frame(0x2, []byte{1, 2, 3}, false)
	op, p, err := w.next()
	if err != nil {
		t.Fatalf("no close frame: %v", err)
	}
	if op != 0x8 || len(p) < 2 || binary.BigEndian.Uint16(p) != 1002 {
		t.Fatalf("got opcode %#x payload %q, want a 1002 close", op, p)
	}
	// Nothing else follows the close, and the relay hangs up.
	if op, _, err := w.next(); err == nil {
		t.Fatalf("frame %#x after the close", op)
	}
	// The relay keeps serving others.
	a, _ := e.join("room-r", "alice")
	a.send(a.enc.Ping(1, 1))
	a.expect(protocol.MessagePong)
}

// An empty binary message is not a FlatBuffer Envelope: MalformedFrame,
// the session stays open. An empty text message is still a text frame:
// 4105. Before the fix both were dropped silently by the transport.
func TestBadInputEmptyFrame(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-r", "alice")
	ctx := context.Background()
	if err := a.c.Write(ctx, websocket.MessageBinary, []byte{}); err != nil {
		t.Fatal(err)
	}
	if er := a.expectError(common.ErrorCodeMalformedFrame); er.RequestType != 0 {
		t.Fatalf("%+v", er)
	}
	a.send(a.enc.Ping(1, 2))
	a.expect(protocol.MessagePong)
	if err := a.c.Write(ctx, websocket.MessageText, nil); err != nil {
		t.Fatal(err)
	}
	a.expectClose(common.CloseCodeProtocolViolation)
	// Before the Hello, an empty frame is not a Hello.
	b := e.dial()
	if err := b.c.Write(ctx, websocket.MessageBinary, nil); err != nil {
		t.Fatal(err)
	}
	b.expectClose(common.CloseCodeHelloExpected)
}
