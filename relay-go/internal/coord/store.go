package coord

import (
	"context"
	"sync"
	"time"
)

// StateEntry is one key of persisted room state.
type StateEntry struct {
	Key       string
	Value     []byte
	Version   uint64
	UpdatedBy uint32
}

// RoomSnapshot is a room's persisted state (plaza.coord.RoomStateSnapshot),
// so a room re-homed on another relay continues its state and sequence.
type RoomSnapshot struct {
	RoomID   string
	WorldID  string
	Sequence uint64
	Entries  []StateEntry
	SavedAt  time.Time
	RelayID  string
}

// RoomStateStore saves and restores room state.
//
// Load returns found=false (and no error) for a room never saved. Save
// replaces what is held. Both may do I/O and must honour ctx; the relay
// calls them when a room opens (Load) and when it closes or the relay drains
// (Save), never per message.
type RoomStateStore interface {
	Load(ctx context.Context, roomID string) (snap RoomSnapshot, found bool, err error)
	Save(ctx context.Context, snap RoomSnapshot) error
}

// MemoryRoomStates is a RoomStateStore in memory (lost on exit).
type MemoryRoomStates struct {
	mu    sync.Mutex
	rooms map[string]RoomSnapshot
}

// NewMemoryRoomStates returns an empty store.
func NewMemoryRoomStates() *MemoryRoomStates {
	return &MemoryRoomStates{rooms: make(map[string]RoomSnapshot)}
}

// Load implements RoomStateStore.
func (m *MemoryRoomStates) Load(_ context.Context, roomID string) (RoomSnapshot, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.rooms[roomID]
	return s, ok, nil
}

// Save implements RoomStateStore.
func (m *MemoryRoomStates) Save(_ context.Context, s RoomSnapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rooms[s.RoomID] = s
	return nil
}

// Load is a relay's load and identity (what plaza.coord.RelayHeartbeat
// carries). Rates (CPU percent, egress bytes per second) are for the
// reporter to derive from two consecutive cumulative values.
type Load struct {
	RelayID        string
	PublicURL      string
	Region         string
	Build          string
	Draining       bool
	MaxConnections int
	Connections    int // open WebSocket connections
	Sessions       int // joined to a room
	Rooms          int
	CPUSeconds     float64 // process user+system CPU time so far
	BytesOut       uint64  // frame bytes written to sockets so far
	StartedAt      time.Time
	At             time.Time
}

// Reporter publishes the relay's load, e.g. as a heartbeat with a TTL.
//
// Report is called every report interval from one goroutine; it may do I/O
// and must honour ctx. An error is logged and the next interval retries.
type Reporter interface {
	Report(ctx context.Context, l Load) error
}

// MemoryReporter keeps the last reported load.
type MemoryReporter struct {
	mu   sync.Mutex
	last Load
	n    int
}

// Report implements Reporter.
func (m *MemoryReporter) Report(_ context.Context, l Load) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last, m.n = l, m.n+1
	return nil
}

// Last returns the last report and how many were made.
func (m *MemoryReporter) Last() (Load, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, m.n
}

// Assignments says whether a room is assigned to this relay (the control
// plane assigns rooms to relays atomically; a ticket for a room this relay
// does not host is refused with TicketWrongRoom).
//
// Assigned must be safe for concurrent use and fast: it is called once per
// join, on the hello path.
type Assignments interface {
	Assigned(ctx context.Context, roomID string) (bool, error)
}

// MemoryAssignments assigns every room to this relay unless Restrict was
// called, after which only the listed rooms are assigned.
type MemoryAssignments struct {
	mu    sync.RWMutex
	rooms map[string]bool // nil: every room
}

// Restrict limits the assigned rooms to ids.
func (m *MemoryAssignments) Restrict(ids ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rooms = make(map[string]bool, len(ids))
	for _, id := range ids {
		m.rooms[id] = true
	}
}

// Assigned implements Assignments.
func (m *MemoryAssignments) Assigned(_ context.Context, roomID string) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rooms == nil || m.rooms[roomID], nil
}
