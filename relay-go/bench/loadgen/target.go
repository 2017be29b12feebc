package loadgen

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// Member is one simulated player. Members are numbered globally across all
// worker processes, so Index is unique in a run.
type Member struct {
	Index int
	Room  int
	User  string
	Name  string
}

// Pose is a member's transform at one instant.
type Pose = client.Pose

// JoinTiming is how long a join took (see client.JoinTiming).
type JoinTiming = client.JoinTiming

// JoinError is a failed join with a countable kind (see client.JoinError).
type JoinError = client.JoinError

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
// something at least every client.KeepAlive, docs/protocol.md). The load
// generator pings sessions that have sent nothing for KeepAlive.
type Pinger interface {
	Ping(nowMs int64) error
}

// KeepAlive is how long a Pinger session may stay silent.
const KeepAlive = client.KeepAlive

// Sink receives what one member's session delivers: the Plaza client's
// Handler, which the Centrifugo adapter feeds too. Calls for one session
// come from one goroutine at a time.
type Sink = client.Handler

// CloseKind names why a connection ended (see client.CloseKind).
func CloseKind(err error) string { return client.CloseKind(err) }

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
