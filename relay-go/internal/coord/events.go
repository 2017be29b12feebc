package coord

import (
	"context"
	"sync"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
)

// EventKind says which plaza.coord.EventBody an Event becomes.
type EventKind uint8

const (
	EventMemberJoined EventKind = iota + 1
	EventMemberLeft
	EventChat
	EventStateChanged
	EventRoomClosed
	EventCommandAck
	// EventSequenceAdvanced is never persisted or sent to the control
	// plane: it tells room state trackers (RoomStateStore implementations
	// that follow events) that the room sequence moved without a persisted
	// event (emote, announcement), so a re-homed room never reuses a number.
	EventSequenceAdvanced
)

// Event is a room event for the control plane (encoded later as
// plaza.coord.RoomEvent). Fields not used by Kind are zero.
type Event struct {
	Kind    EventKind
	RoomID  string // empty for CommandAck of relay-wide commands
	WorldID string
	// RoomLifetime is the lifetime of the room that published the event
	// (decision 009); 0 for events not about a room (CommandAck).
	RoomLifetime uint64
	OccurredAt   time.Time

	UserID      string
	MemberID    uint32
	DisplayName string
	SessionID   string
	LeaveReason common.LeaveReason
	Duration    time.Duration // MemberLeft: time in the room

	Sequence uint64 // Chat, StateChanged, RoomClosed (last sequence)
	Text     string // Chat
	Key      string // StateChanged
	Value    []byte
	Version  uint64
	Deleted  bool
	By       uint32 // StateChanged: member id of the writer, 0 = server

	Reason    string // RoomClosed
	CommandID string // CommandAck
	OK        bool
	Detail    string
}

// EventSink receives room events.
//
// Publish is called from room goroutines and must never block them: an
// implementation buffers and drops (counting drops) when it cannot keep up.
// Events of one room are published in room sequence order.
type EventSink interface {
	Publish(ctx context.Context, e Event)
}

// MemoryEvents keeps the last Max events in memory (standalone mode, tests)
// in a ring buffer: Publish is O(1).
type MemoryEvents struct {
	mu      sync.Mutex
	ring    []Event
	start   int // index of the oldest event
	n       int
	dropped uint64
	notify  chan struct{}
}

// NewMemoryEvents returns a sink holding at most max events (<= 0: 10000).
func NewMemoryEvents(max int) *MemoryEvents {
	if max <= 0 {
		max = 10000
	}
	return &MemoryEvents{ring: make([]Event, max), notify: make(chan struct{}, 1)}
}

// Publish implements EventSink; the oldest event is dropped when full.
func (m *MemoryEvents) Publish(_ context.Context, e Event) {
	if e.Kind == EventSequenceAdvanced {
		return
	}
	m.mu.Lock()
	if m.n == len(m.ring) {
		m.ring[m.start] = e
		m.start = (m.start + 1) % len(m.ring)
		m.dropped++
	} else {
		m.ring[(m.start+m.n)%len(m.ring)] = e
		m.n++
	}
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// Events returns a copy of the held events, oldest first.
func (m *MemoryEvents) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Event, 0, m.n)
	for i := 0; i < m.n; i++ {
		out = append(out, m.ring[(m.start+i)%len(m.ring)])
	}
	return out
}

// Dropped returns how many events were overwritten.
func (m *MemoryEvents) Dropped() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// Wait blocks until an event matching f is held or ctx ends.
func (m *MemoryEvents) Wait(ctx context.Context, f func(Event) bool) (Event, bool) {
	for {
		for _, e := range m.Events() {
			if f(e) {
				return e, true
			}
		}
		select {
		case <-m.notify:
		case <-ctx.Done():
			return Event{}, false
		}
	}
}
