package relay

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// gatedAssignments holds every join at the assignment check until open is
// closed, so a test controls when a join finishes.
type gatedAssignments struct{ open chan struct{} }

func (g *gatedAssignments) Assigned(ctx context.Context, _ string, _ uint64) (bool, error) {
	select {
	case <-g.open:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (g *gatedAssignments) AssignedAll(_ context.Context, rooms []coord.RoomLifetime) ([]bool, error) {
	out := make([]bool, len(rooms))
	for i := range out {
		out[i] = true
	}
	return out, nil
}

// gatedSession starts a session whose Hello is accepted but whose join
// waits for the gate.
func gatedSession(t *testing.T) (*Session, *coord.MemoryEvents, chan struct{}) {
	t.Helper()
	gate := &gatedAssignments{open: make(chan struct{})}
	events := coord.NewMemoryEvents(1000)
	h, signer := benchHub(t, coord.DefaultWorldConfig(), func(c *HubConfig) {
		c.Assignments = gate
		c.Events = events
	})
	s := h.Accept(&countingConn{}, nil).(*Session)
	s.Frame(wire.NewEncoder(256).Hello(signer.Mint(tickettest.Claims(testRelay, "gated", "early-bird")), "test", 1), false)
	if s.state.Load() != stateJoining {
		t.Fatalf("state %d after Hello, want joining", s.state.Load())
	}
	return s, events, gate.open
}

// Frames sent before the join finished take effect after it, in order;
// Frame never waits for the join (it returns while the gate is shut).
func TestFramesBeforeWelcomeKeepTheirOrder(t *testing.T) {
	s, events, open := gatedSession(t)
	enc := wire.NewEncoder(256)
	for _, line := range []string{"one", "two", "three"} {
		s.Frame(enc.ChatSend(line, 1), false)
	}
	close(open)
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		got = got[:0]
		for _, e := range events.Events() {
			if e.Kind == coord.EventChat {
				got = append(got, e.Text)
			}
		}
		time.Sleep(time.Millisecond)
	}
	if len(got) != 3 || got[0] != "one" || got[1] != "two" || got[2] != "three" {
		t.Fatalf("chat events %q, want one two three", got)
	}
	waitFor(t, func() bool { return s.state.Load() == stateJoined })
}

// A client that floods frames while its join is pending is closed with
// ProtocolViolation once it passes the early-frame bound.
func TestTooManyFramesBeforeWelcome(t *testing.T) {
	s, _, open := gatedSession(t)
	defer close(open)
	ping := wire.NewEncoder(64).Ping(1, 1)
	for i := 0; i < maxEarlyFrames+1; i++ {
		s.Frame(ping, false)
	}
	c := s.closeArg.Load()
	if c == nil || c.code != common.CloseCodeProtocolViolation {
		t.Fatalf("close %+v, want ProtocolViolation", c)
	}
}

// holdRequest keeps the room goroutine busy: it closes held when the room
// starts handling it and returns when release is closed.
type holdRequest struct{ held, release chan struct{} }

func (q holdRequest) handle(context.Context, *Room) roomReply {
	close(q.held)
	<-q.release
	return roomReply{}
}

// A room input that finds the inbox full waits in the session's backlog
// (Frame returns at once) and reaches the room in order once it drains;
// past the backlog bound inputs are refused with RateLimited, never
// dropped silently.
func TestFullRoomInboxBacklogKeepsOrder(t *testing.T) {
	w := coord.DefaultWorldConfig()
	w.ChatsPerSecond, w.ChatBurst = 1e6, 1000
	events := coord.NewMemoryEvents(10000)
	r, sessions := benchRoom(t, w, 2, func(c *HubConfig) { c.Events = events })
	s := sessions[0]
	// Hold the room goroutine inside a request, so its inbox fills up.
	hold := holdRequest{held: make(chan struct{}), release: make(chan struct{})}
	go func() { _, _ = r.request(context.Background(), hold) }()
	<-hold.held
	enc := wire.NewEncoder(256)
	n := inboxSize + maxBacklog + 10 // more than the inbox and the backlog hold
	refusedBefore := testutil.ToFloat64(r.hub.metrics.ErrorsSent.WithLabelValues("rate_limited"))
	start := time.Now()
	for i := 0; i < n; i++ {
		s.lastRecv.Store(0)
		s.Frame(enc.ChatSend("line-"+strconv.Itoa(i), 1), false)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Frame waited %v for a busy room", d)
	}
	refused := int(testutil.ToFloat64(r.hub.metrics.ErrorsSent.WithLabelValues("rate_limited")) - refusedBefore)
	// The held request is off the inbox, so 10 inputs did not fit (the
	// bound allows one more for a room that had not taken it yet).
	if refused < 10 || refused > 11 {
		t.Fatalf("%d inputs refused with RateLimited, want 10 or 11", refused)
	}
	close(hold.release)
	waitFor(t, func() bool {
		c := 0
		for _, e := range events.Events() {
			if e.Kind == coord.EventChat {
				c++
			}
		}
		return c == n-refused
	})
	i := 0
	for _, e := range events.Events() {
		if e.Kind != coord.EventChat {
			continue
		}
		if want := "line-" + strconv.Itoa(i); e.Text != want {
			t.Fatalf("chat %d is %q, want %q", i, e.Text, want)
		}
		i++
	}
}
