package relay

import "github.com/plaza-dev/plaza/relay-go/internal/sendq"

// How a room's frames reach its members' sockets.
//
// A push into an idle session queue makes the pusher responsible for the
// flush that empties it (sendq's scheduled flag): nobody else flushes that
// session until the queue is drained. Frames pushed from outside the room
// (Welcome, errors, drain notices) hand that flush to the hub's
// flush workers at once. The room keeps the flushes its own pushes own in
// owned and writes them itself, on its goroutine:
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

// queueReliable pushes a reliable frame to s for the room's next flush. On
// overflow s is closed as a slow consumer and false is returned.
func (r *Room) queueReliable(s *Session, frame []byte) bool {
	res, own := s.q.PushReliable(frame)
	switch res {
	case sendq.Overflow:
		s.closeSlow()
		return false
	case sendq.Closed:
		return false
	}
	r.own(s, own)
	if s.roomOwned {
		if n, _ := s.q.Len(); n >= s.hub.cfg.SendQueue/2 {
			s.roomOwned = false
			r.scratch = s.flush(r.scratch)
		}
	}
	return true
}

// own records that the room's push made it responsible for s's flush.
func (r *Room) own(s *Session, own bool) {
	if own {
		s.roomOwned = true
		r.owned = append(r.owned, s)
	}
}

// queueMovement pushes a movement batch to s for the room's next flush.
func (r *Room) queueMovement(s *Session, frame []byte) {
	res, own := s.q.PushMovement(frame)
	if res == sendq.Replaced {
		r.hub.metrics.MovementDropped()
	}
	r.own(s, own)
}

// flushOwned writes every session whose flush the room owns.
func (r *Room) flushOwned() {
	for i, s := range r.owned {
		if s.roomOwned { // not flushed early by queueReliable
			s.roomOwned = false
			r.scratch = s.flush(r.scratch)
		}
		r.owned[i] = nil
	}
	r.owned = r.owned[:0]
}
