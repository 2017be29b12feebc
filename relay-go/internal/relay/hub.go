// Package relay is the relay's core: the Hub holds sessions and rooms,
// a Room owns one room on its own goroutine, a Session is one client
// connection. Server (server.go) wires them to the network.
package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/metrics"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/transport"
)

// HubConfig configures a Hub. Every field is required unless marked.
type HubConfig struct {
	RelayID string
	// PublicURL, Region, Build and MaxConnections are reported with the load.
	PublicURL      string
	Region         string
	Build          string
	MaxConnections int
	Verifier       *ticket.Verifier
	Worlds         coord.WorldConfigSource
	Events         coord.EventSink
	States         coord.RoomStateStore
	// Assignments decides which rooms this relay hosts.
	Assignments coord.Assignments
	// Commands delivers operator commands (optional).
	Commands coord.CommandSource
	// Reporter receives load every ReportInterval (optional).
	Reporter       coord.Reporter
	ReportInterval time.Duration
	Metrics        *metrics.Metrics
	Logger         *slog.Logger

	MaxFrameBytes   int
	SendQueue       int
	SendBufferBytes int
	// ReliableWithTick: rooms write their reliable broadcasts with the
	// next movement tick instead of right after handling (room_flush.go).
	ReliableWithTick bool
	HelloTimeout     time.Duration
	IdleTimeout      time.Duration
	DrainTimeout     time.Duration
	DrainRate        int // notices per second
	// AssignmentCheckInterval is the period of the re-check of every open
	// room's allocation (assignment_check.go); 0 = 5 s.
	AssignmentCheckInterval time.Duration
	// BootID names this incarnation of the relay (decision 009), reported
	// with the load; "" = 16 random hex characters drawn by NewHub.
	BootID string
}

// Hub holds every session and room of this relay.
type Hub struct {
	cfg     HubConfig
	log     *slog.Logger
	metrics *metrics.Metrics

	ctx      context.Context // parent of room goroutines
	cancel   context.CancelFunc
	flushq   chan *Session
	draining atomic.Bool
	drainMu  sync.Mutex // one drain at a time
	// drainRequested, when set (by Server), runs a Drain command's drain so
	// the process exits once it finished; nil: the hub drains by itself.
	drainRequested func(reason string, within time.Duration)
	joined         atomic.Int64
	bytesOut       atomic.Uint64
	started        time.Time
	stopped        chan struct{}
	wg             sync.WaitGroup

	// mu guards the three maps below.
	mu sync.Mutex
	// rooms holds each open room by id, from its creation until it is
	// forgotten (forgetRoomLocked); a new room may then take the id.
	rooms    map[string]*Room
	sessions map[*Session]struct{}
	// joinsInFlight counts, per room, the joins sent to it (Hub.join) that
	// it has not taken off its inbox yet; a room with any is not closed for
	// being empty. Rooms with none have no entry.
	joinsInFlight map[*Room]int
}

var (
	errRoomGone = errors.New("room closed")
	// ErrDraining is returned by operations refused while draining.
	ErrDraining = errors.New("relay is draining")
)

// joinError is a refused join with its close code.
type joinError struct {
	code common.CloseCode
	msg  string
}

func (e *joinError) Error() string { return fmt.Sprintf("join refused (%d): %s", e.code, e.msg) }

type joinResult struct {
	memberID uint32
	world    coord.WorldConfig
}

// NewHub validates cfg and returns a Hub; call Run to start it.
func NewHub(cfg HubConfig) (*Hub, error) {
	if cfg.Verifier == nil || cfg.Worlds == nil || cfg.Events == nil || cfg.States == nil || cfg.Assignments == nil || cfg.Metrics == nil || cfg.Logger == nil {
		return nil, errors.New("new hub: Verifier, Worlds, Events, States, Assignments, Metrics and Logger are required")
	}
	if cfg.RelayID == "" || cfg.MaxFrameBytes <= 0 || cfg.SendQueue <= 0 || cfg.SendBufferBytes <= 0 || cfg.HelloTimeout <= 0 || cfg.IdleTimeout <= 0 || cfg.DrainTimeout <= 0 || cfg.DrainRate <= 0 {
		return nil, errors.New("new hub: RelayID, limits, timeouts and DrainRate must be set")
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = 5 * time.Second
	}
	if cfg.AssignmentCheckInterval <= 0 {
		cfg.AssignmentCheckInterval = 5 * time.Second
	}
	if cfg.BootID == "" {
		cfg.BootID = newBootID()
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, ctx: ctx, cancel: cancel,
		flushq: make(chan *Session, 1<<16), stopped: make(chan struct{}),
		rooms: make(map[string]*Room), sessions: make(map[*Session]struct{}), joinsInFlight: make(map[*Room]int),
		started: time.Now(),
	}
	workers := 4 * runtime.GOMAXPROCS(0)
	for i := 0; i < workers; i++ {
		h.wg.Add(1)
		go h.flushWorker()
	}
	return h, nil
}

// Accept is the transport.Acceptor: it registers a new connection.
func (h *Hub) Accept(c transport.Conn, _ *http.Request) transport.Peer {
	s := newSession(h, c)
	h.mu.Lock()
	h.sessions[s] = struct{}{}
	h.mu.Unlock()
	h.metrics.Connections.Inc()
	return s
}

func (h *Hub) unregister(s *Session) {
	h.mu.Lock()
	_, ok := h.sessions[s]
	delete(h.sessions, s)
	h.mu.Unlock()
	if ok {
		h.metrics.Connections.Dec()
	}
}

// schedule queues s for a flush worker. It never blocks: when the shared
// queue is full a one-off goroutine flushes instead.
func (h *Hub) schedule(s *Session) {
	select {
	case h.flushq <- s:
	default:
		go s.flush(nil)
	}
}

func (h *Hub) flushWorker() {
	defer h.wg.Done()
	var scratch [][]byte
	for {
		select {
		case s := <-h.flushq:
			scratch = s.flush(scratch)
		case <-h.stopped:
			return
		}
	}
}

// BootID returns this relay incarnation's boot id.
func (h *Hub) BootID() string { return h.cfg.BootID }

// newBootID draws 16 random lowercase hex characters.
func newBootID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}

// Draining reports whether the relay is draining.
func (h *Hub) Draining() bool { return h.draining.Load() }

// Counts returns the open connections and open rooms.
func (h *Hub) Counts() (conns, rooms int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions), len(h.rooms)
}

// join puts s into the room lifetime its ticket names (c.Room at
// c.RoomLifetime, already checked against the room's allocation), creating
// the room on first use. An open copy of an older lifetime of the room is
// closed first (its members get RoomClosed), and a newer one refuses the
// ticket with TicketWrongRoom: one relay never hosts two lifetimes of a
// room, and never re-opens an ended one (decision 009). It waits for the
// room's answer (the Welcome is already queued then).
func (h *Hub) join(ctx context.Context, s *Session, c *ticket.Claims) (joinResult, error) {
	if h.Draining() {
		return joinResult{}, &joinError{code: common.CloseCodeDraining, msg: "relay is draining; rejoin through the control plane"}
	}
	cfg, err := h.cfg.Worlds.WorldConfig(ctx, c.World)
	if err != nil {
		return joinResult{}, fmt.Errorf("join: world config: %w", err)
	}
	var r *Room
	for r == nil {
		h.mu.Lock()
		old := h.rooms[c.Room]
		switch {
		case old == nil:
			r = newRoom(h, c.Room, c.World, c.RoomLifetime, cfg)
			h.rooms[c.Room] = r
			h.metrics.Rooms.Inc()
			go r.run(h.ctx)
			h.log.Info("room opened", "room", c.Room, "world", c.World, "lifetime", c.RoomLifetime)
		case old.lifetime == c.RoomLifetime:
			r = old
		case old.lifetime > c.RoomLifetime:
			h.mu.Unlock()
			return joinResult{}, &joinError{code: common.CloseCodeTicketWrongRoom, msg: fmt.Sprintf("room %s lifetime %d has ended", c.Room, c.RoomLifetime)}
		default:
			h.mu.Unlock()
			if err := h.endLifetime(ctx, old, "room lifetime ended: the room was re-opened"); err != nil {
				return joinResult{}, fmt.Errorf("join: %w", err)
			}
			continue
		}
		h.joinsInFlight[r]++
		h.mu.Unlock()
	}
	s.setRoom(r)
	rep, err := r.request(ctx, joinRequest{s: s, claims: c})
	if err != nil {
		if errors.Is(err, errRoomGone) || errors.Is(err, context.DeadlineExceeded) {
			// The join never reached the room (or it is stuck): undo.
			h.joinArrived(r)
		}
		var je *joinError
		if errors.As(err, &je) {
			s.setRoom(nil)
			return joinResult{}, err
		}
		if errors.Is(err, errRoomGone) {
			return joinResult{}, &joinError{code: common.CloseCodeRoomClosed, msg: "room closed"}
		}
		return joinResult{}, fmt.Errorf("join: %w", err)
	}
	return rep.join, nil
}

// endLifetime closes r because its lifetime ended (a newer lifetime of the
// room was allocated, or its allocation is gone): every member leaves and
// is closed with RoomClosed, the room publishes RoomClosed and saves its
// state. It returns once r has stopped (or ctx ended first), so the next
// lifetime of the id never overlaps it.
func (h *Hub) endLifetime(ctx context.Context, r *Room, reason string) error {
	_, err := r.request(ctx, closeRequest{code: common.CloseCodeRoomClosed, reason: reason, leave: common.LeaveReasonRoomClosed})
	if err != nil && !errors.Is(err, errRoomGone) {
		return fmt.Errorf("end room %s lifetime %d: %w", r.id, r.lifetime, err)
	}
	select {
	case <-r.done:
		h.log.Info("room lifetime ended", "room", r.id, "lifetime", r.lifetime, "reason", reason)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("end room %s lifetime %d: %w", r.id, r.lifetime, ctx.Err())
	}
}

// joinArrived uncounts one join in flight to r: the room took it off its
// inbox (the room goroutine calls it), or Hub.join gave up on it. Extra
// calls are harmless (the count stays at 0). Any goroutine; takes h.mu.
func (h *Hub) joinArrived(r *Room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.joinsInFlight[r]; n > 1 {
		h.joinsInFlight[r] = n - 1
	} else {
		delete(h.joinsInFlight, r)
	}
}

// removeRoomIfIdle forgets r when no join is on its way to it, and reports
// whether it did; the room then closes. The room goroutine calls it when
// its empty grace ran out.
func (h *Hub) removeRoomIfIdle(r *Room) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.joinsInFlight[r] > 0 {
		return false
	}
	h.forgetRoomLocked(r)
	return true
}

// forgetRoom takes r out of the hub (the room goroutine calls it as it
// shuts down). Forgetting a forgotten room does nothing.
func (h *Hub) forgetRoom(r *Room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forgetRoomLocked(r)
}

// forgetRoomLocked is forgetRoom with h.mu held. A room is in rooms from
// its creation until this call, so finding it there is what says it has
// not been forgotten yet.
func (h *Hub) forgetRoomLocked(r *Room) {
	if h.rooms[r.id] != r {
		return
	}
	delete(h.rooms, r.id)
	delete(h.joinsInFlight, r)
	h.metrics.Rooms.Dec()
}

// room returns the open room with id, or nil.
func (h *Hub) room(id string) *Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[id]
}

func (h *Hub) allRooms() []*Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		out = append(out, r)
	}
	return out
}

func (h *Hub) allSessions() []*Session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		out = append(out, s)
	}
	return out
}

// Run runs the hub's background work (deadline sweeper, load reports,
// operator commands) until ctx ends. It does not drain; call Shutdown.
func (h *Hub) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.sweep(ctx) }()
	go func() { defer wg.Done(); h.checkAssignments(ctx) }()
	if h.cfg.Reporter != nil {
		wg.Add(1)
		go func() { defer wg.Done(); h.report(ctx) }()
	}
	var cmdErr error
	if src := h.cfg.Commands; src != nil {
		cmdErr = src.Run(ctx, h.HandleCommand)
	} else {
		<-ctx.Done()
	}
	wg.Wait()
	return cmdErr
}

// sweep enforces the hello and idle deadlines on one goroutine for all
// sessions (cheaper than a timer per connection).
func (h *Hub) sweep(ctx context.Context) {
	period := min(h.cfg.HelloTimeout, h.cfg.IdleTimeout) / 4
	period = max(min(period, 250*time.Millisecond), 10*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, s := range h.allSessions() {
				if s.closing.Load() {
					continue
				}
				switch s.state.Load() {
				case stateHello:
					if now.Sub(s.createdAt) > h.cfg.HelloTimeout {
						s.closeGraceful(common.CloseCodeHelloTimeout, "no Hello within the deadline", common.LeaveReasonTimedOut)
					}
				case stateJoined:
					if now.UnixNano()-s.lastRecv.Load() > int64(h.cfg.IdleTimeout) {
						s.closeGraceful(common.CloseCodeIdleTimeout, "no frame within the idle timeout", common.LeaveReasonTimedOut)
					}
				}
			}
		}
	}
}

func (h *Hub) report(ctx context.Context) {
	t := time.NewTicker(h.cfg.ReportInterval)
	defer t.Stop()
	for {
		l := h.Load()
		rctx, cancel := context.WithTimeout(ctx, h.cfg.ReportInterval)
		if err := h.cfg.Reporter.Report(rctx, l); err != nil && ctx.Err() == nil {
			h.log.Warn("load report failed", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Load returns the relay's current load.
func (h *Hub) Load() coord.Load {
	conns, rooms := h.Counts()
	return coord.Load{
		RelayID: h.cfg.RelayID, BootID: h.cfg.BootID, PublicURL: h.cfg.PublicURL, Region: h.cfg.Region, Build: h.cfg.Build,
		Draining: h.Draining(), MaxConnections: h.cfg.MaxConnections,
		Connections: conns, Sessions: int(h.joined.Load()), Rooms: rooms,
		CPUSeconds: cpuSeconds(), BytesOut: h.bytesOut.Load(), StartedAt: h.started, At: time.Now(),
	}
}

// cpuSeconds returns the process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// Close stops room goroutines and flush workers at once, without a drain.
// Use after Shutdown, or in tests.
func (h *Hub) Close() {
	h.cancel()
	for _, r := range h.allRooms() {
		r.wait()
	}
	select {
	case <-h.stopped:
	default:
		close(h.stopped)
	}
	h.wg.Wait()
}
