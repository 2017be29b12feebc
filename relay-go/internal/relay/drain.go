package relay

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
)

// Drain empties the relay: readiness turns false and new joins are refused
// (4006), then every session gets a DisconnectNotice (rejoin through the
// control plane, after retry_after_ms) and a Draining close, paced at
// DrainRate per second. It returns when every connection is gone, or at
// ctx's deadline after closing what is left; rooms then close and save
// their state. Calling it again while a drain runs waits for that drain.
func (h *Hub) Drain(ctx context.Context, reason string) error {
	h.draining.Store(true)
	h.metrics.Draining.Set(1)
	h.drainMu.Lock()
	defer h.drainMu.Unlock()
	if reason == "" {
		reason = "relay is draining"
	}
	sessions := h.allSessions()
	h.log.Info("drain started", "sessions", len(sessions))
	// Spread rejoins: the more sessions, the wider the window, so they do
	// not all hit the control plane in the same second.
	spread := time.Duration(len(sessions)) * 2 * time.Millisecond
	spread = min(max(spread, time.Second), 30*time.Second)
	// Pace: batch notices per 20 ms step, DrainRate per second.
	const step = 20 * time.Millisecond
	batch := max(1, h.cfg.DrainRate*int(step/time.Millisecond)/1000)
	pace := time.NewTicker(step)
	defer pace.Stop()
	for i, s := range sessions {
		if i > 0 && i%batch == 0 {
			select {
			case <-pace.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		s.drainNotice(reason, 500*time.Millisecond+rand.N(spread))
	}
	// Wait for the clients to go.
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		conns, _ := h.Counts()
		if conns == 0 {
			break
		}
		select {
		case <-ctx.Done():
			h.log.Warn("drain deadline: closing remaining connections", "left", conns)
			for _, s := range h.allSessions() {
				s.closeNow(common.CloseCodeDraining, reason, common.LeaveReasonDrained)
				s.conn.Abort()
			}
			// Aborted sockets are counted down by their close callbacks,
			// which run on the poller: wait for them, briefly.
			h.waitConnectionsGone(2 * time.Second)
			conns = 0
		case <-t.C:
		}
		if conns == 0 {
			break
		}
	}
	// Close the (now empty) rooms so their state is saved without waiting
	// for the empty grace.
	for _, r := range h.allRooms() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_, _ = r.request(cctx, closeRequest{code: common.CloseCodeDraining, reason: reason, leave: common.LeaveReasonDrained})
		cancel()
	}
	h.log.Info("drain finished")
	return nil
}

// drainNotice tells one session to resume elsewhere (after retry) and
// closes it; a session still joining is told too.
func (s *Session) drainNotice(reason string, retry time.Duration) {
	s.closeAfter(common.CloseCodeDraining, reason, common.LeaveReasonDrained, true, retry)
}

// waitConnectionsGone polls until no connection is counted or limit passes.
func (h *Hub) waitConnectionsGone(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if conns, _ := h.Counts(); conns == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
