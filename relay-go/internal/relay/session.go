package relay

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/ratelimit"
	"github.com/plaza-dev/plaza/relay-go/internal/sendq"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/transport"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// Session states.
const (
	stateHello   uint32 = iota // waiting for Hello
	stateJoining               // Hello received; verifying and joining (bounded by joinWaitTimeout)
	stateJoined                // in a room
)

// Session is one client connection. Its receive path (Frame) runs serially
// on the transport's goroutines and reaches its room only through the
// room's methods (offer, submit, leave); the room goroutine reaches the
// session only through methods that never block (pushReliable, takeMove,
// the *FromRoom methods of room_flush.go, the close methods) and reads its
// immutable identity; a flusher writes the queue to the socket. Nothing a
// session does can block its room.
type Session struct {
	hub       *Hub
	conn      transport.Conn
	id        string
	createdAt time.Time
	lastRecv  atomic.Int64 // unix nanos of the last frame received
	state     atomic.Uint32
	q         *sendq.Queue
	// room is the room the session joins or joined: set by Hub.join
	// (setRoom) before the join request is sent, cleared if the room
	// refuses the join. Any goroutine reads it.
	room atomic.Pointer[Room]

	// claims is set once by the hello path; other goroutines (logging,
	// drain) may read it concurrently.
	claims atomic.Pointer[ticket.Claims]
	// Set by the hello path after the join; only the receive path reads them.
	memberID uint32
	lim      *sessionLimits
	in       inbound // receive-side ordering (session_order.go)
	// roomOwned: the room's push owns this session's next flush. Only the
	// *FromRoom methods touch it, on the room's goroutine (room_flush.go).
	roomOwned bool

	// The move mailbox: the receive path stores the newest Move, the room
	// takes it on its tick. Latest wins by construction.
	moveMu   sync.Mutex
	move     wire.Move
	hasMove  bool
	closing  atomic.Bool   // a close was started (by either side)
	closed   atomic.Bool   // the connection is gone
	leave    atomic.Uint32 // LeaveReason+1 once decided
	closeArg atomic.Pointer[closeReq]
}

type closeReq struct {
	code   common.CloseCode
	reason string
}

// sessionLimits are the receive path's buckets; only the receive path
// touches them, so they need no lock. Moves have none: they coalesce in
// the move mailbox (latest wins), whatever their rate.
type sessionLimits struct {
	chat, emote, state, ping, abuse ratelimit.Bucket
	maxChatBytes                    int
}

// Fixed limits not in WorldConfig: Pings and the abuse budget. Every
// refused message (rate limited, malformed, unknown, not a client message)
// takes an abuse token; an empty abuse bucket closes the session (Abuse).
// A Move is never refused for its rate, so it never takes one.
const (
	pingsPerSecond  = 5
	pingBurst       = 10
	abusePerSecond  = 5
	abuseBurst      = 40
	maxEmoteBytes   = 64
	closeDeadline   = 2 * time.Second
	joinWaitTimeout = 5 * time.Second
)

func newSession(h *Hub, c transport.Conn) *Session {
	now := time.Now()
	s := &Session{hub: h, conn: c, id: rand.Text()[:16], createdAt: now, q: sendq.New(h.cfg.SendQueue)}
	s.lastRecv.Store(now.UnixNano())
	return s
}

func (s *Session) log() *slog.Logger {
	l := s.hub.log.With("session", s.id)
	if c := s.claims.Load(); c != nil {
		l = l.With("user", c.Subject, "room", c.Room)
	}
	return l
}

// setLeave records why the session leaves its room; the first reason wins.
func (s *Session) setLeave(r common.LeaveReason) {
	s.leave.CompareAndSwap(0, uint32(r)+1)
}

func (s *Session) leaveReason() common.LeaveReason {
	if v := s.leave.Load(); v != 0 {
		return common.LeaveReason(v - 1)
	}
	return common.LeaveReasonDisconnected
}

// setRoom records the room the session is joining (Hub.join only, before
// the join request is sent, so that a close during the join reaches the
// room through Closed), or nil when the room refused the join.
func (s *Session) setRoom(r *Room) { s.room.Store(r) }

// isClosed reports whether the connection is gone. Any goroutine.
func (s *Session) isClosed() bool { return s.closed.Load() }

// pushReliable queues a reliable frame whose flush, if the push takes it,
// goes to the hub's flush workers. Any goroutine; never blocks. On
// overflow the session is closed as a slow consumer and false is returned.
func (s *Session) pushReliable(frame []byte) bool {
	r, schedule := s.q.PushReliable(frame)
	switch r {
	case sendq.Overflow:
		s.closeSlow()
		return false
	case sendq.Closed:
		return false
	}
	if schedule {
		s.hub.schedule(s)
	}
	return true
}

// takeMove returns the newest Move since the last call (room goroutine).
func (s *Session) takeMove() (wire.Move, bool) {
	s.moveMu.Lock()
	defer s.moveMu.Unlock()
	if !s.hasMove {
		return wire.Move{}, false
	}
	s.hasMove = false
	return s.move, true
}

func (s *Session) putMove(m *wire.Move) {
	s.moveMu.Lock()
	s.move, s.hasMove = *m, true
	s.moveMu.Unlock()
}

// sendError queues an Error frame for a recoverable mistake.
func (s *Session) sendError(code common.ErrorCode, msg string, requestID uint32, typ protocol.Message) {
	e := wire.GetEncoder()
	f := e.Error(code, msg, requestID, typ)
	wire.PutEncoder(e)
	s.hub.metrics.ErrorSent(code)
	s.pushReliable(f)
}

// closeGraceful flushes what is queued, then sends a close frame. The
// session leaves its room with leave (if it was in one). A joined session
// is told why first: every close the relay starts after the Welcome,
// except 1000 (the client's own Leave) and the queue-discarding closeNow
// (4004, 4106), ends with a DisconnectNotice carrying the close code.
func (s *Session) closeGraceful(code common.CloseCode, reason string, leave common.LeaveReason) {
	s.closeAfter(code, reason, leave, code != common.CloseCodeNormal && s.state.Load() == stateJoined, 0)
}

// closeMember is closeGraceful for a session its room counts as a member
// (kick, ban, room close, replaced). The room may know before the session
// does: the Welcome goes out before the session marks itself joined
// (admitEarly), so a kick right after the Welcome would otherwise close
// without the DisconnectNotice. Room goroutine.
func (s *Session) closeMember(code common.CloseCode, reason string, leave common.LeaveReason) {
	s.closeAfter(code, reason, leave, code != common.CloseCodeNormal, 0)
}

// closeAfter is closeGraceful with the notice decided by the caller: with
// notice, a DisconnectNotice{reason, close_code: code, resume} is queued
// as the session's last frame; retry becomes resume.retry_after_ms (the
// drain spreads rejoins with it).
func (s *Session) closeAfter(code common.CloseCode, reason string, leave common.LeaveReason, notice bool, retry time.Duration) {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	if notice {
		// Queued before the close is armed, so a flush running meanwhile
		// writes it before it closes.
		s.pushNotice(code, reason, retry)
	}
	s.setLeave(leave)
	s.hub.metrics.Closed(code)
	s.closeArg.Store(&closeReq{code: code, reason: reason})
	s.log().Debug("closing session", "code", uint16(code), "reason", reason)
	if s.q.Kick() {
		s.hub.schedule(s)
	}
	// A queue that cannot drain (the client stopped reading) must not
	// keep the close from being sent: at the deadline what is still queued
	// is dropped and the close frame goes out past it (a no-op if the
	// flush already sent it; the transport bounds how long it waits for
	// the socket).
	time.AfterFunc(closeDeadline, func() {
		s.q.Close()
		s.conn.Close(uint16(code), reason)
	})
}

// pushNotice queues the DisconnectNotice that precedes a close with code.
// resume.rejoin says whether the client should come back on its own: yes
// for 1001, 1011 and the 40xx codes ("get a new ticket and rejoin"), no for
// the terminal 41xx. resume.room_id is the ticket's room, whether or not
// the join completed: that is where the client wants to be.
func (s *Session) pushNotice(code common.CloseCode, reason string, retry time.Duration) {
	roomID := ""
	if c := s.claims.Load(); c != nil {
		roomID = c.Room
	}
	rejoin := code == common.CloseCodeGoingAway || code == common.CloseCodeInternalError || (code >= 4000 && code < 4100)
	e := wire.GetEncoder()
	f := e.DisconnectNotice(reason, code, rejoin, uint32(retry/time.Millisecond), roomID)
	wire.PutEncoder(e)
	s.pushReliable(f)
}

// closeNow discards the queue and closes at once (slow consumers, abuse).
func (s *Session) closeNow(code common.CloseCode, reason string, leave common.LeaveReason) {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	s.setLeave(leave)
	s.hub.metrics.Closed(code)
	s.log().Info("closing session", "code", uint16(code), "reason", reason)
	s.q.Close()
	s.conn.Close(uint16(code), reason)
}

func (s *Session) closeSlow() {
	if s.closing.Load() {
		return
	}
	s.hub.metrics.SlowConsumers.Inc()
	s.closeNow(common.CloseCodeSlowConsumer, "send queue overflow", common.LeaveReasonSlowConsumer)
}

// flush writes queued frames until the queue is empty or the socket is
// congested. It runs on a room goroutine (flushFromRoom) or a flush worker;
// at most one flush per session runs at a time (the queue's scheduled
// flag). scratch is the caller's reusable frame list (a list built here
// would escape to the heap through the Conn interface, one allocation per
// flush); the possibly grown list is returned for reuse.
func (s *Session) flush(scratch [][]byte) [][]byte {
	high := s.hub.cfg.SendBufferBytes
	// Everything queued goes out in one socket write (up to maxFlushBytes):
	// a tick's movement batch plus the chat lines since the last flush cost
	// one syscall, not one each. Frames keep their queue order.
	batch, pending := scratch[:0], 0
	for {
		if s.conn.Buffered()+pending > high {
			if !s.write(batch) {
				return batch[:0]
			}
			s.q.Pop(true) // mark idle; Writable reschedules
			s.conn.NotifyWritable()
			return batch[:0]
		}
		// A Pop that finds the queue empty marks it idle, and the next push
		// schedules another flush, possibly on another worker: write what
		// we hold before that can happen, or frames would overtake it.
		if len(batch) > 0 {
			if reliable, movement := s.q.Len(); reliable == 0 && !movement {
				if !s.write(batch) {
					return batch[:0]
				}
				batch, pending = batch[:0], 0
				continue
			}
		}
		f, _ := s.q.Pop(false)
		if f == nil {
			c := s.closeArg.Load()
			if c == nil {
				return batch[:0]
			}
			// The empty Pop gave the flush away, and closeAfter may have
			// queued its DisconnectNotice just before that (it pushes the
			// notice, then arms closeArg, then kicks): closing now would
			// drop the notice. Take the flush back; if another flush holds
			// it, that one sends the close. Holding it, close only an
			// empty queue, else write what is left first.
			if !s.q.Kick() {
				return batch[:0]
			}
			if reliable, movement := s.q.Len(); reliable > 0 || movement {
				continue
			}
			s.q.Close()
			s.conn.Close(uint16(c.code), c.reason)
			return batch[:0]
		}
		batch = append(batch, f)
		pending += len(f)
		if pending >= maxFlushBytes {
			if !s.write(batch) {
				return batch[:0]
			}
			batch, pending = batch[:0], 0
		}
	}
}

// write sends batch in one socket write; false means the connection
// failed (its queue is closed).
func (s *Session) write(batch [][]byte) bool {
	if len(batch) == 0 {
		return true
	}
	err := s.conn.WriteBinaryBatch(batch)
	if err == nil {
		for _, f := range batch {
			s.hub.metrics.Out(wire.PeekType(f), len(f))
			s.hub.bytesOut.Add(uint64(len(f)))
		}
	}
	clear(batch) // the scratch list must not keep frames alive
	if err != nil {
		s.q.Close()
		return false
	}
	return true
}

// maxFlushBytes bounds one batched socket write.
const maxFlushBytes = 64 << 10

// Alive implements transport.Peer: a WebSocket ping keeps the session from
// the idle timeout like any frame.
func (s *Session) Alive() { s.lastRecv.Store(time.Now().UnixNano()) }

// Writable implements transport.Peer.
func (s *Session) Writable() {
	if s.q.Resume() {
		s.hub.schedule(s)
	}
}

// Closed implements transport.Peer: the connection is gone. A client that
// closed it with 1000 or 1001 left (MemberLeft{Left}); one that vanished
// without a close frame is Disconnected. A reason the relay decided first
// (its own close) wins either way.
func (s *Session) Closed(err error) {
	var cc *transport.ClientClose
	if errors.As(err, &cc) && (cc.Code == 1000 || cc.Code == 1001) {
		s.setLeave(common.LeaveReasonLeft)
	}
	s.closing.Store(true)
	s.closed.Store(true)
	s.q.Close()
	if r := s.room.Load(); r != nil {
		r.leave(s)
	}
	s.hub.unregister(s)
	s.log().Debug("connection closed", "err", err)
}
