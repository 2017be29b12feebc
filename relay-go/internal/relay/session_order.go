package relay

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// The receive path runs on the transport's event loop (one goroutine serves
// many connections), so Frame must never wait. Two things can: joining (the
// ticket check may fetch keys, the room answers asynchronously) and a room
// whose inbox is full. Both are moved off the loop here without giving up
// the guarantee clients rely on: a session's frames take effect in the
// order they were sent.

// Bounds on what a session may hold while it cannot be served at once.
// Early frames are those that arrive after the Hello while the join is
// still finishing; that includes frames a client sends as soon as it reads
// its Welcome (the room queues the Welcome before the join goroutine is
// done), so the bound must fit a quick client's first burst. Tickets are
// single-use and short-lived, so these bytes are bounded per admitted user.
const (
	maxEarlyFrames = 256
	maxEarlyBytes  = 1 << 20
	maxBacklog     = 64 // room inputs waiting for a full room inbox
)

// inbound is a session's receive-side ordering state.
type inbound struct {
	mu         sync.Mutex
	early      [][]byte // copies of frames received while joining, in order
	earlyBytes int
	backlog    []clientInput // inputs waiting for the room's inbox, in order
}

// beforeJoin handles a frame of a session that is not joined: the Hello
// starts the join on its own goroutine; frames after it wait, copied, until
// the join finished (admitEarly).
func (s *Session) beforeJoin(data []byte) {
	in := &s.in
	in.mu.Lock()
	switch s.state.Load() {
	case stateJoined: // the join finished since Frame looked
		in.mu.Unlock()
		s.joinedFrame(data, time.Now())
		return
	case stateJoining:
		if len(in.early) >= maxEarlyFrames || in.earlyBytes+len(data) > maxEarlyBytes {
			in.mu.Unlock()
			s.hub.metrics.In(wire.PeekType(data), len(data))
			s.closeGraceful(common.CloseCodeProtocolViolation,
				fmt.Sprintf("more than %d frames or %d bytes sent before Welcome", maxEarlyFrames, maxEarlyBytes), common.LeaveReasonDisconnected)
			return
		}
		in.early = append(in.early, bytes.Clone(data))
		in.earlyBytes += len(data)
		in.mu.Unlock()
		return
	}
	var f wire.Frame
	err := wire.Decode(data, &f)
	if err != nil {
		s.hub.metrics.In(protocol.MessageNONE, len(data))
	} else {
		s.hub.metrics.In(f.Type, len(data))
	}
	if err != nil || f.Type != protocol.MessageHello {
		in.mu.Unlock()
		s.closeGraceful(common.CloseCodeHelloExpected, "the first frame must be a valid Hello", common.LeaveReasonDisconnected)
		return
	}
	s.state.Store(stateJoining)
	in.mu.Unlock()
	h := f.Hello
	go s.hello(&h)
}

// admitEarly runs on the join goroutine once the session is in its room:
// it handles the frames that arrived while joining, in order, and marks
// the session joined when none are left (frames arriving meanwhile queue
// behind them).
func (s *Session) admitEarly() {
	in := &s.in
	for {
		in.mu.Lock()
		early := in.early
		in.early, in.earlyBytes = nil, 0
		if len(early) == 0 {
			s.state.Store(stateJoined)
			in.mu.Unlock()
			return
		}
		in.mu.Unlock()
		for _, d := range early {
			if s.closing.Load() {
				return
			}
			s.joinedFrame(d, time.Now())
		}
	}
}

// toRoom hands a reliable input to the room without waiting (Room.offer).
// When the room's inbox is full the input joins the session's backlog,
// which one goroutine (feedRoom, with Room.submit) delivers in order; later
// inputs queue behind it. Receive path only (in.mu orders it with feedRoom). A
// backlog of maxBacklog means the client is outrunning an overloaded room:
// the input is refused with RateLimited (the client hears it, nothing is
// dropped silently).
func (s *Session) toRoom(rin clientInput, typ protocol.Message) {
	r := s.room.Load()
	in := &s.in
	in.mu.Lock()
	if len(in.backlog) == 0 && r.offer(rin) {
		in.mu.Unlock()
		return
	}
	if len(in.backlog) >= maxBacklog {
		in.mu.Unlock()
		s.sendError(common.ErrorCodeRateLimited, "the room is busy: not applied, send it again later", rin.reqID, typ)
		return
	}
	in.backlog = append(in.backlog, rin)
	start := len(in.backlog) == 1
	in.mu.Unlock()
	if start {
		s.hub.metrics.RoomBacklogged.Inc()
		go s.feedRoom(r)
	}
}

// feedRoom delivers the backlog to r in order until it is empty or the
// room is gone.
func (s *Session) feedRoom(r *Room) {
	in := &s.in
	for {
		in.mu.Lock()
		next := in.backlog[0]
		in.mu.Unlock()
		if !r.submit(next) {
			in.mu.Lock()
			in.backlog = nil
			in.mu.Unlock()
			return
		}
		in.mu.Lock()
		in.backlog[0] = clientInput{}
		in.backlog = in.backlog[1:]
		left := len(in.backlog)
		in.mu.Unlock()
		if left == 0 {
			return
		}
	}
}
