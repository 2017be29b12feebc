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
	// RoomLifetime is the lifetime the state belongs to (decision 009); 0
	// was written before lifetimes existed and matches no open room.
	RoomLifetime uint64
	// Final marks the state a room saved as it shut down on its relay; a
	// periodic save while it ran is not final (see Room.restore).
	Final bool
}

// RoomStateStore saves and restores room state.
//
// Load returns the state of lifetime of roomID. It returns found=false
// (and no error) for a room never saved and for a snapshot of another
// lifetime: state belongs to one room lifetime, and a room opening a new
// lifetime starts fresh (decision 009). Save replaces what is held. Both
// may do I/O and must honour ctx; the relay calls them when a room opens
// (Load) and when it closes or the relay drains (Save), never per message.
type RoomStateStore interface {
	Load(ctx context.Context, roomID string, lifetime uint64) (snap RoomSnapshot, found bool, err error)
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
func (m *MemoryRoomStates) Load(_ context.Context, roomID string, lifetime uint64) (RoomSnapshot, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.rooms[roomID]
	if !ok || s.RoomLifetime != lifetime {
		return RoomSnapshot{}, false, nil
	}
	return s, true, nil
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
	RelayID string
	// BootID names this relay process (16 hex chars, decision 009): the
	// same in every report of one process, new in the next.
	BootID         string
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

// RoomLifetime names one lifetime of a room (decision 009).
type RoomLifetime struct {
	RoomID   string
	Lifetime uint64
}

// Assignments says whether one lifetime of a room is assigned to this
// relay. The control plane assigns rooms to relays atomically and numbers
// each allocation's lifetime; a ticket whose room and lifetime (rlt) are
// not this relay's allocation now is refused with TicketWrongRoom (4104),
// and an error is ServerOverloaded (4009): the relay never opens a room it
// could not check.
//
// Assigned is called once per join, on the hello path. AssignedAll answers
// for many rooms at once, in order (the relay's periodic re-check of its
// open rooms; one round trip). An error means nothing is known. Both must
// be safe for concurrent use and honour ctx.
type Assignments interface {
	Assigned(ctx context.Context, roomID string, lifetime uint64) (bool, error)
	AssignedAll(ctx context.Context, rooms []RoomLifetime) ([]bool, error)
}

// MemoryAssignments assigns every room at every lifetime to this relay
// until Restrict or Assign is called; after that only the rooms they named.
type MemoryAssignments struct {
	mu    sync.RWMutex
	rooms map[string]uint64 // room -> lifetime, 0 = any; nil map: every room
}

// Restrict limits the assigned rooms to ids, each at any lifetime.
func (m *MemoryAssignments) Restrict(ids ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rooms = make(map[string]uint64, len(ids))
	for _, id := range ids {
		m.rooms[id] = 0
	}
}

// Assign assigns roomID at exactly lifetime (>= 1), as join.lua's
// allocation does, and restricts the assignments like Restrict.
func (m *MemoryAssignments) Assign(roomID string, lifetime uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms == nil {
		m.rooms = make(map[string]uint64)
	}
	m.rooms[roomID] = lifetime
}

// Release drops roomID's assignment (room_release), restricting the
// assignments like Restrict.
func (m *MemoryAssignments) Release(roomID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms == nil {
		m.rooms = make(map[string]uint64)
	}
	delete(m.rooms, roomID)
}

// Assigned implements Assignments.
func (m *MemoryAssignments) Assigned(_ context.Context, roomID string, lifetime uint64) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.assignedLocked(roomID, lifetime), nil
}

// AssignedAll implements Assignments.
func (m *MemoryAssignments) AssignedAll(_ context.Context, rooms []RoomLifetime) ([]bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]bool, len(rooms))
	for i, r := range rooms {
		out[i] = m.assignedLocked(r.RoomID, r.Lifetime)
	}
	return out, nil
}

func (m *MemoryAssignments) assignedLocked(roomID string, lifetime uint64) bool {
	if m.rooms == nil {
		return true
	}
	l, ok := m.rooms[roomID]
	return ok && (l == 0 || l == lifetime)
}
