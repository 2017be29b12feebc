package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Member is one simulated player. Members are numbered globally across all
// worker processes, so Index is unique in a run.
type Member struct {
	Index int
	Room  int
	User  string
	Name  string
}

// Pose is a member's transform at one instant (mirrors plaza.common.Transform).
type Pose struct {
	Position [3]float32
	Rotation [4]float32
	Velocity [3]float32
}

// JoinTiming is how long a join took. Join runs from the first byte the
// client sent (sign-in request or TCP dial) to the server saying the member
// is in the room; Connect is the TCP connect + WebSocket upgrade alone;
// Control (control-plane mode) is sign-in + join HTTP calls.
type JoinTiming struct {
	Control time.Duration
	Connect time.Duration
	Join    time.Duration
}

// Target is a server under test: Plaza's relay or the Centrifugo peer.
// Implementations must be safe for concurrent Join calls.
type Target interface {
	// Join connects m from the loopback source address local and returns
	// once the server has put m in its room (Plaza: Welcome; Centrifugo:
	// subscribe reply). From then on the session reports what it receives
	// to sink, from its own goroutine. Errors wrap a *JoinError when the
	// failure has a kind worth counting.
	Join(ctx context.Context, m *Member, local net.IP, sink Sink) (Session, JoinTiming, error)
}

// Session is one joined member. Move and Chat may be called from any
// goroutine; they return once the frame is written to the socket.
type Session interface {
	// Move sends the member's pose stamped with the sender clock nowMs.
	Move(p *Pose, nowMs int64) error
	// Chat sends one reliable chat line.
	Chat(text string, requestID uint32) error
	// Close ends the session with a normal close; the sink sees no Closed.
	Close() error
}

// Pinger is a Session whose protocol needs client keep-alives (Plaza: send
// something at least every 10 s, docs/protocol.md). The load generator pings
// sessions that have sent nothing for KeepAlive.
type Pinger interface {
	Ping(nowMs int64) error
}

// KeepAlive is how long a Pinger session may stay silent.
const KeepAlive = 10 * time.Second

// Sink receives what one member's session delivers. Calls for one session
// come from one goroutine at a time.
type Sink interface {
	// Movement reports one avatar update of member from (another member),
	// received at nowUs (Unix µs) and sent at sentMsLow (low 32 bits of the
	// sender's Unix milliseconds).
	Movement(nowUs int64, from uint32, sentMsLow uint32)
	// Batch reports one movement frame stamped by the server at serverMs
	// (Unix ms) and received at nowUs: the server -> client leg of latency.
	Batch(nowUs int64, serverMs int64)
	// Chat reports one chat line as the sender wrote it. seq is the
	// server's room sequence when the protocol has one, else 0.
	Chat(nowUs int64, text []byte, seq uint64)
	// Event counts something notable by kind ("error_RateLimited", ...).
	Event(kind string)
	// Closed reports that the server or network ended the session (kind is
	// e.g. "close_4004" or "conn_error"); never called after Session.Close.
	Closed(kind string)
}

// CloseKind names why a connection ended: "close_<code>[_<name>]" when the
// peer sent a close frame (code given by the caller), else a network
// category (conn_eof, conn_reset, conn_timeout, conn_closed, conn_error).
func CloseKind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "conn_closed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "conn_eof"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "conn_reset"
	case errors.Is(err, net.ErrClosed):
		return "conn_closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "conn_timeout"
	}
	return "conn_error"
}

// JoinError is a failed join with a countable kind ("dial", "handshake",
// "welcome_timeout", "close_4102", "signin_http_503", ...).
type JoinError struct {
	Kind string
	Err  error
}

func (e *JoinError) Error() string { return fmt.Sprintf("join %s: %v", e.Kind, e.Err) }
func (e *JoinError) Unwrap() error { return e.Err }

// TargetFactory builds a Target in a worker process from the run's plan.
type TargetFactory func(p *Plan) (Target, error)

var (
	targetsMu sync.Mutex
	targets   = map[string]TargetFactory{"plaza": newPlazaTargetFromPlan}
)

// RegisterTarget makes a Target available under name (e.g. "centrifugo").
func RegisterTarget(name string, f TargetFactory) {
	targetsMu.Lock()
	defer targetsMu.Unlock()
	targets[name] = f
}

// TargetNames lists the registered targets.
func TargetNames() []string {
	targetsMu.Lock()
	defer targetsMu.Unlock()
	var out []string
	for n := range targets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func newTarget(p *Plan) (Target, error) {
	targetsMu.Lock()
	f, ok := targets[p.Target]
	targetsMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown target %q (have %v)", p.Target, TargetNames())
	}
	return f(p)
}
