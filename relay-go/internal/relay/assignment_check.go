package relay

import (
	"context"
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// The periodic re-check of room allocations (decision 009).
//
// A room's lifetime ends in the control plane (room_release: an operator's
// close, the empty grace, a RoomClosed event) and the relay hears of it by
// a CloseRoom command, which pub/sub may lose, or not at all (the room was
// re-homed while this relay's heartbeat lapsed). So every
// AssignmentCheckInterval the hub asks Assignments about every open room at
// once (Redis: one pipeline of HMGET A room:<room> relay lifetime) and
// ends each room whose allocation is gone or names another relay or
// another lifetime: its members are closed with RoomClosed and it
// publishes RoomClosed, as after an operator's close. A failed check
// closes nothing (the next round retries): a Redis outage must not empty
// the relay.

// checkAssignments runs the re-check every AssignmentCheckInterval until
// ctx ends (Hub.Run).
func (h *Hub) checkAssignments(ctx context.Context) {
	t := time.NewTicker(h.cfg.AssignmentCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.checkAssignmentsOnce(ctx)
		}
	}
}

// checkAssignmentsOnce checks every open room once and ends those that
// lost their allocation; it returns how many it ended.
func (h *Hub) checkAssignmentsOnce(ctx context.Context) int {
	rooms := h.allRooms()
	if len(rooms) == 0 {
		return 0
	}
	q := make([]coord.RoomLifetime, len(rooms))
	for i, r := range rooms {
		q[i] = coord.RoomLifetime{RoomID: r.id, Lifetime: r.lifetime}
	}
	cctx, cancel := context.WithTimeout(ctx, h.cfg.AssignmentCheckInterval)
	assigned, err := h.cfg.Assignments.AssignedAll(cctx, q)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("room assignment check failed; rooms stay open until the next check", "rooms", len(rooms), "err", err)
		}
		return 0
	}
	ended := 0
	for i, r := range rooms {
		if i >= len(assigned) || assigned[i] {
			continue
		}
		ectx, cancel := context.WithTimeout(ctx, joinWaitTimeout)
		err := h.endLifetime(ectx, r, "room allocation ended")
		cancel()
		if err != nil {
			h.log.Warn("closing a room that lost its allocation failed", "room", r.id, "lifetime", r.lifetime, "err", err)
			continue
		}
		ended++
	}
	return ended
}
