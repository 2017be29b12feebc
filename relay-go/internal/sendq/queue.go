// Package sendq is a session's bounded outbound queue and its drop policy.
package sendq

import "sync"

// Queue holds frames waiting for a session's socket. Reliable frames (chat,
// presence, state, errors...) keep their order and are bounded by count; the
// movement slot holds only the newest movement batch, because an older batch
// is stale once a newer one exists ("latest wins"). Pop returns reliable
// frames first: a movement batch never overtakes a MemberJoined it follows
// in importance, and it only waits for frames already queued.
//
// Safe for concurrent use: producers (the room goroutine) never block; the
// single consumer (the session's flusher) pops.
type Queue struct {
	mu       sync.Mutex
	max      int
	reliable [][]byte
	head     int
	movement []byte
	closed   bool
	// scheduled is true while a flush is scheduled or running; see Push.
	scheduled bool
}

// PushResult says what a push did.
type PushResult uint8

const (
	// Queued: the frame was added.
	Queued PushResult = iota
	// Replaced: a movement batch replaced an older pending one (a drop).
	Replaced
	// Overflow: the reliable queue is full; the frame was not added and the
	// session must be closed as a slow consumer.
	Overflow
	// Closed: the queue is closed; the frame was discarded.
	Closed
)

// New returns a queue holding at most maxReliable reliable frames.
func New(maxReliable int) *Queue {
	if maxReliable < 1 {
		maxReliable = 1
	}
	return &Queue{max: maxReliable}
}

// PushReliable appends a reliable frame. schedule is true when the caller
// must start a flush (the queue was idle).
func (q *Queue) PushReliable(frame []byte) (r PushResult, schedule bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return Closed, false
	}
	if len(q.reliable)-q.head >= q.max {
		return Overflow, false
	}
	if q.head > 0 && len(q.reliable) == cap(q.reliable) {
		n := copy(q.reliable, q.reliable[q.head:])
		clear(q.reliable[n:])
		q.reliable = q.reliable[:n]
		q.head = 0
	}
	q.reliable = append(q.reliable, frame)
	return Queued, q.markScheduled()
}

// PushMovement stores frame as the pending movement batch, replacing (and
// dropping) any older one.
func (q *Queue) PushMovement(frame []byte) (r PushResult, schedule bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return Closed, false
	}
	r = Queued
	if q.movement != nil {
		r = Replaced
	}
	q.movement = frame
	return r, q.markScheduled()
}

func (q *Queue) markScheduled() bool {
	if q.scheduled {
		return false
	}
	q.scheduled = true
	return true
}

// Pop returns the next frame, reliable first. When it returns nil the queue
// was empty and is marked idle: the next push schedules a flush again.
// paused=true makes Pop return nil and mark idle even when frames remain
// (the socket is congested); Resume reschedules later.
func (q *Queue) Pop(paused bool) (frame []byte, movement bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || paused {
		q.scheduled = false
		return nil, false
	}
	if q.head < len(q.reliable) {
		f := q.reliable[q.head]
		q.reliable[q.head] = nil
		q.head++
		if q.head == len(q.reliable) {
			q.reliable = q.reliable[:0]
			q.head = 0
		}
		return f, false
	}
	if q.movement != nil {
		f := q.movement
		q.movement = nil
		return f, true
	}
	q.scheduled = false
	return nil, false
}

// Resume reports whether a flush must be scheduled because frames are
// waiting and none is scheduled (called when a congested socket drained).
func (q *Queue) Resume() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.scheduled || (q.head == len(q.reliable) && q.movement == nil) {
		return false
	}
	q.scheduled = true
	return true
}

// Len returns the number of reliable frames and whether a movement batch
// is pending.
func (q *Queue) Len() (reliable int, movement bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.reliable) - q.head, q.movement != nil
}

// Idle reports whether nothing is queued and no flush is scheduled or
// running.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.scheduled && q.head == len(q.reliable) && q.movement == nil
}

// Close discards everything queued; later pushes return Closed.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.reliable, q.movement, q.head = nil, nil, 0
}

// Kick reports whether a flush must be scheduled to act on something other
// than a frame (a pending close): true unless one is already scheduled or
// the queue is closed.
func (q *Queue) Kick() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	return q.markScheduled()
}
