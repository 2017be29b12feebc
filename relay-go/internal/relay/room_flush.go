package relay

import "github.com/plaza-dev/plaza/relay-go/internal/sendq"

// How a room's frames reach its members' sockets.
//
// A push into an idle session queue makes the pusher responsible for the
// flush that empties it (sendq's scheduled flag): nobody else flushes that
// session until the queue is drained. Frames pushed with
// Session.pushReliable (Welcome, errors, drain notices; any goroutine)
// hand that flush to the hub's flush workers at once. The room's own
// broadcasts and movement batches go through the Session methods below
// whose names end in FromRoom: a push that takes the flush marks the
// session roomOwned and the room lists it in owned; the room later writes
// it itself, on its goroutine, with flushFromRoom:
//
//   - always at the end of a movement tick, so a tick costs one socket write
//     per member whatever the tick carries (movement batch, chat, presence);
//   - with ReliableWithTick off, also right after each burst of inputs, so a
//     chat line is written when handled rather than with the next tick;
//   - whenever the room is not ticking (no members, closing), so nothing it
//     queued ever waits for a tick that will not come;
//   - for one session at once when its reliable queue is half full, so a
//     burst (a thousand members joining in one tick) never overflows a
//     healthy client's queue just because the room held it for the tick.
//
// Writes never block (the transport buffers what the socket cannot take
// and the session's flush stops at the congestion mark), so flushing here
// cannot stall the room; it saves the hand-off to a flush worker (a
// channel send and a goroutine wake per member per tick).

// The room side: the room decides when to flush. These Room methods run
// on the room goroutine.

// queueReliable pushes a reliable frame to s for the room's next flush. On
// overflow s is closed as a slow consumer and false is returned.
func (r *Room) queueReliable(s *Session, frame []byte) bool {
	ok, owned := s.pushReliableFromRoom(frame)
	if owned {
		r.owned = append(r.owned, s)
	}
	if ok && s.backloggedForRoom() {
		r.scratch = s.flushFromRoom(r.scratch)
	}
	return ok
}

// queueMovement pushes a movement batch to s for the room's next flush.
func (r *Room) queueMovement(s *Session, frame []byte) {
	if s.pushMovementFromRoom(frame) {
		r.owned = append(r.owned, s)
	}
}

// flushOwned writes every session whose flush the room owns.
func (r *Room) flushOwned() {
	for i, s := range r.owned {
		r.scratch = s.flushFromRoom(r.scratch)
		r.owned[i] = nil
	}
	r.owned = r.owned[:0]
}

// The session side: what the room may do to its members' queues. Only the
// goroutine of the room s is a member of calls these, so roomOwned needs
// no lock. A session can appear in owned twice (owned, flushed early, owned
// again); flushFromRoom makes the second entry a no-op.

// pushReliableFromRoom queues a reliable frame from s's room. ok is false
// when the frame was not queued: the queue overflowed (s is then closed as
// a slow consumer) or is closed. owned reports that the push made the room
// responsible for s's flush: the room must call flushFromRoom. Room
// goroutine only; never blocks.
func (s *Session) pushReliableFromRoom(frame []byte) (ok, owned bool) {
	res, own := s.q.PushReliable(frame)
	switch res {
	case sendq.Overflow:
		s.closeSlow()
		return false, false
	case sendq.Closed:
		return false, false
	}
	if own {
		s.roomOwned = true
	}
	return true, own
}

// pushMovementFromRoom stores a movement batch from s's room, replacing
// (and counting as dropped) an unsent older one. It reports, like
// pushReliableFromRoom, whether the room now owns s's flush. Room
// goroutine only; never blocks.
func (s *Session) pushMovementFromRoom(frame []byte) (owned bool) {
	res, own := s.q.PushMovement(frame)
	if res == sendq.Replaced {
		s.hub.metrics.MovementDropped()
	}
	if own {
		s.roomOwned = true
	}
	return own
}

// backloggedForRoom reports that the room owns s's flush and s's reliable
// queue is half full: the room should flush s now rather than with the
// tick. Room goroutine only.
func (s *Session) backloggedForRoom() bool {
	if !s.roomOwned {
		return false
	}
	n, _ := s.q.Len()
	return n >= s.hub.cfg.SendQueue/2
}

// flushFromRoom writes s's queue (Session.flush) if the room still owns
// its flush, and gives the ownership back; otherwise it does nothing.
// scratch is the room's reusable frame list; the possibly grown list is
// returned. Room goroutine only; never blocks (writes are buffered).
func (s *Session) flushFromRoom(scratch [][]byte) [][]byte {
	if !s.roomOwned {
		return scratch
	}
	s.roomOwned = false
	return s.flush(scratch)
}
