package relay

import (
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/interest"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// runTick is one movement tick: take each member's newest Move, then send
// every member at most one MovementBatch, written together with whatever
// reliable frames the room queued since the last tick (room_flush.go). Its
// duration includes those socket writes.
//
// Without an interest radius everyone sees the same set (every avatar that
// moved, the receiver's own included), so the batch is encoded once and the
// same bytes are queued for all members. With a radius, members are grouped
// by grid cell: everyone in a cell sees the same set (near avatars that
// moved now, plus on a far tick every avatar that moved since the last far
// tick), so one batch is encoded per occupied cell.
func (r *Room) runTick() time.Duration {
	start := time.Now()
	r.tick++
	moved := 0
	for _, m := range r.members {
		if mv, ok := m.s.takeMove(); ok {
			m.transform = mv.Transform
			m.clientLow = uint32(mv.ClientTimeMs)
			m.movedNow, m.farPending = true, true
			moved++
		}
	}
	// Far ticks exist only with an interest radius: without one every
	// mover is already sent on its own tick, and re-sending earlier movers
	// would deliver stale transforms twice.
	farTick := r.cfg.InterestRadius > 0 && interest.FarTick(r.tick, uint16(r.cfg.FarEveryTicks))
	if r.cfg.InterestRadius <= 0 || farTick {
		// No interest, or a far tick: everyone receives the same set (all
		// movers; on a far tick every avatar that moved since the last far
		// tick, which includes this tick's movers), so encode it once.
		shared := false
		r.avatars = r.avatars[:0]
		for _, m := range r.members {
			if m.movedNow || (farTick && m.farPending) {
				r.avatars = append(r.avatars, wire.Avatar{MemberID: m.id, ClientTimeMsLow: m.clientLow, Transform: m.transform})
				shared = true
			}
			if farTick {
				m.farPending = false
			}
		}
		if shared {
			frame := r.enc.MovementBatch(r.tick, start.UnixMilli(), r.avatars)
			for _, m := range r.members {
				r.queueMovement(m.s, frame)
			}
		}
	} else if moved > 0 {
		r.interestTick(start)
	}
	for _, m := range r.members {
		m.movedNow = false
	}
	r.flushOwned()
	took := time.Since(start)
	r.hub.metrics.TickDuration.Observe(took.Seconds())
	return took
}

// interestTick sends near movers only (not a far tick): one batch per
// occupied grid cell, shared by that cell's members.
func (r *Room) interestTick(start time.Time) {
	grid := interest.Grid{Size: r.cfg.InterestRadius}
	r.interest = r.interest[:0]
	for _, c := range r.cellOrder {
		r.cells[c] = r.cells[c][:0]
	}
	r.cellOrder = r.cellOrder[:0]
	for _, m := range r.members {
		c := grid.CellOf(m.transform.Position[0], m.transform.Position[2])
		r.interest = append(r.interest, interest.Avatar{Cell: c, MovedNow: m.movedNow})
		list, seen := r.cells[c]
		if !seen || len(list) == 0 {
			r.cellOrder = append(r.cellOrder, c)
		}
		r.cells[c] = append(list, m)
	}
	for _, c := range r.cellOrder {
		r.visible = interest.Visible(c, r.interest, false, r.visible[:0])
		if len(r.visible) == 0 {
			continue
		}
		r.batch = r.batch[:0]
		for _, i := range r.visible {
			m := r.members[i]
			r.batch = append(r.batch, wire.Avatar{MemberID: m.id, ClientTimeMsLow: m.clientLow, Transform: m.transform})
		}
		frame := r.enc.MovementBatch(r.tick, start.UnixMilli(), r.batch)
		for _, m := range r.cells[c] {
			r.queueMovement(m.s, frame)
		}
	}
	// Forget cells nobody occupies any more so the map stays small.
	if len(r.cells) > 4*len(r.cellOrder)+16 {
		for c, l := range r.cells {
			if len(l) == 0 {
				delete(r.cells, c)
			}
		}
	}
}
