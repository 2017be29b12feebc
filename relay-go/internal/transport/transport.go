// Package transport is the seam between the relay and its WebSocket
// library. The relay sees only Conn and Peer; nbio.go adapts
// github.com/lesismal/nbio to them. Swapping the library means writing one
// new file with the same Server API.
package transport

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// Conn is one accepted WebSocket connection.
//
// Every method is safe for concurrent use and never blocks on the network:
// writes are handed to the library's buffer. Buffered reports how many bytes
// were handed over but are not yet on the socket, so callers can stop
// writing to a congested connection (and queue, drop or disconnect by their
// own policy) instead of growing the library's buffer without bound.
type Conn interface {
	// WriteBinary sends one binary message. b is copied before return.
	WriteBinary(b []byte) error
	// WriteBinaryBatch sends frames as consecutive binary messages with as
	// few socket writes as the transport can (one, for nbio). The frames are
	// copied before return; an error means none or only some were sent.
	WriteBinaryBatch(frames [][]byte) error
	// Buffered returns the bytes written but not yet sent.
	Buffered() int
	// NotifyWritable asks for one Peer.Writable call once Buffered drops to
	// the low-water mark (immediately if it already has).
	NotifyWritable()
	// Close sends a close frame with code and reason after what was already
	// written, and is final: later writes fail. The connection is closed
	// a short grace after the close frame reached the socket (time for the
	// client's answer), and at the latest CloseWriteTimeout after Close: a
	// client that reads nothing for that long sees a dropped connection.
	Close(code uint16, reason string)
	// Abort closes the connection at once, without a close frame.
	Abort()
	RemoteAddr() net.Addr
}

// Peer receives a connection's events. The library calls Frame serially per
// connection, in arrival order; Writable and Closed may come from any
// goroutine. Closed is called exactly once.
//
// Frame, Alive and Closed run on the transport's event loop, which serves
// many connections: they must not block (hand slow work to a goroutine of
// your own, keeping the connection's order yourself).
type Peer interface {
	// Frame is one complete message; data is only valid during the call
	// and is empty for a zero-length message (which is delivered too).
	// text is true for a text (opcode 1) message.
	Frame(data []byte, text bool)
	// Writable follows NotifyWritable.
	Writable()
	// Alive reports a WebSocket ping from the client (answered with a pong
	// by the transport); it proves the client is there without a frame.
	Alive()
	// Closed reports the connection is gone (err may be nil). When the
	// client ended it with a close frame, err is a *ClientClose.
	Closed(err error)
}

// ClientClose is the error Peer.Closed receives when the client closed the
// connection with a close frame (RFC 6455 section 5.5.1), whoever sent the
// first close frame. Code is the client's status code (1005: none given).
type ClientClose struct {
	Code   uint16
	Reason string
}

func (e *ClientClose) Error() string {
	return fmt.Sprintf("client closed the connection: %d %q", e.Code, e.Reason)
}

// CloseWriteTimeout bounds how long Conn.Close waits for its close frame
// (behind everything written before it) to reach the socket.
const CloseWriteTimeout = 5 * time.Second

// Protocol violations the transport refuses itself, before any Peer call:
//   - a client frame without a mask (RFC 6455 section 5.1: "The server MUST
//     close the connection upon receiving a frame that is not masked"):
//     close 1002 (Protocol Error), and nothing after it is read;
//   - messages over MaxFrameBytes: close 1009 (see Config).

// Acceptor creates the Peer for a new connection. It runs after the
// handshake, before any frame is delivered. Returning nil refuses the
// connection (it is aborted).
type Acceptor func(c Conn, r *http.Request) Peer

// Config configures a Server.
type Config struct {
	// Addr is the listen address, host:port (port 0 picks one; see Addr()).
	Addr string
	// TLSCertFile and TLSKeyFile, when set, serve wss://.
	TLSCertFile, TLSKeyFile string
	// Path is the WebSocket endpoint, e.g. "/ws".
	Path string
	// MaxFrameBytes: larger messages are closed with 1009 (Message Too Big).
	// Messages over 4x this are cut off while being read (the connection is
	// dropped without a close frame, the library cannot do better).
	MaxFrameBytes int
	// SendBufferBytes is the low/high-water scale for Buffered: Writable
	// fires when Buffered drops to half of it.
	SendBufferBytes int
	// HandshakeTimeout bounds the HTTP phase: a connection that has not
	// completed the WebSocket upgrade by then is closed (0: 5 s). It does
	// not apply after the upgrade.
	HandshakeTimeout time.Duration
	// CheckOrigin decides whether a handshake's Origin is allowed.
	CheckOrigin func(r *http.Request) bool
	// SocketSendBuffer sets SO_SNDBUF on accepted sockets (0: the kernel's
	// autotuning). A bound keeps a stalled client from parking megabytes in
	// kernel memory before the relay's own queue policy sees congestion.
	SocketSendBuffer int
	// MaxConnections is the most open connections (0: unlimited).
	MaxConnections int
	Accept         Acceptor
	// Extra serves any other path on the same listener (may be nil).
	Extra http.Handler
}
