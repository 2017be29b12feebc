package redisbridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/redis/go-redis/v9"

	gen "github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// Heartbeat is the Redis coord.Reporter: each Report writes, in one
// transaction, the relay's RelayHeartbeat (PLZH) to A relay:<id>:hb with
// PX = 3 × the heartbeat interval and adds the id to A relays. The relay
// must call Report every HeartbeatInterval (cmd/relay sets the hub's report
// interval to it).
//
// State: Starting for Register (before the relay listens), then Ready, or
// Draining while the relay drains, or Stopping after SetStopping.
//
// The SET carries GET: when the previous value is missing although an
// earlier heartbeat was written, the key expired (a pause longer than the
// TTL, or Redis lost it): the control plane may have re-homed this relay's
// rooms. That is logged, counted and passed to Config.OnHeartbeatLost.
type Heartbeat struct {
	b        *Bridge
	stopping atomic.Bool

	mu     sync.Mutex // one Report at a time; guards the fields below
	fb     *flatbuffers.Builder
	prev   coord.Load
	lastOK time.Time
}

func newHeartbeat(b *Bridge) *Heartbeat {
	return &Heartbeat{b: b, fb: flatbuffers.NewBuilder(256)}
}

// SetStopping makes later heartbeats say Stopping (the process is shutting
// down: no new rooms).
func (h *Heartbeat) SetStopping() { h.stopping.Store(true) }

// Register writes a Starting heartbeat (call it before the relay listens,
// so the control plane knows the relay but places nothing on it yet).
func (h *Heartbeat) Register(ctx context.Context, l coord.Load) error {
	return h.write(ctx, l, gen.RelayStateStarting)
}

// Report implements coord.Reporter.
func (h *Heartbeat) Report(ctx context.Context, l coord.Load) error {
	state := gen.RelayStateReady
	switch {
	case h.stopping.Load():
		state = gen.RelayStateStopping
	case l.Draining:
		state = gen.RelayStateDraining
	}
	return h.write(ctx, l, state)
}

func (h *Heartbeat) write(ctx context.Context, l coord.Load, state gen.RelayState) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l.RelayID == "" {
		l.RelayID = h.b.cfg.RelayID
	}
	if l.At.IsZero() {
		l.At = time.Now()
	}
	var cpu float32
	var egress uint64
	if dt := l.At.Sub(h.prev.At).Seconds(); !h.prev.At.IsZero() && dt > 0 {
		cpu = float32(max(0, (l.CPUSeconds-h.prev.CPUSeconds)/dt*100))
		if l.BytesOut >= h.prev.BytesOut {
			egress = uint64(float64(l.BytesOut-h.prev.BytesOut) / dt)
		}
	}
	buf := encodeHeartbeat(h.fb, l, state, cpu, egress)
	ttl := 3 * h.b.cfg.HeartbeatInterval
	var old *redis.Cmd
	_, err := h.b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		old = p.Do(ctx, "SET", h.b.keyspace.relayHB(), buf, "PX", ttl.Milliseconds(), "GET")
		p.SAdd(ctx, h.b.keyspace.relays(), h.b.cfg.RelayID)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		h.b.metrics.heartbeatFails.Inc()
		h.b.redisError("heartbeat")
		return fmt.Errorf("heartbeat: %w", err)
	}
	now := time.Now()
	if prevErr := old.Err(); errors.Is(prevErr, redis.Nil) && !h.lastOK.IsZero() {
		gap := now.Sub(h.lastOK)
		h.b.metrics.heartbeatLost.Inc()
		h.b.log.Warn("own heartbeat key had expired: this relay's rooms may have been re-homed", "since_last_heartbeat", gap.String(), "ttl", ttl.String())
		if f := h.b.cfg.OnHeartbeatLost; f != nil {
			f(gap)
		}
	}
	h.prev, h.lastOK = l, now
	h.b.metrics.heartbeats.Inc()
	return nil
}

// remove deletes the heartbeat key (the relay stopped).
func (h *Heartbeat) remove(ctx context.Context) error {
	if err := h.b.rdb.Del(ctx, h.b.keyspace.relayHB()).Err(); err != nil {
		h.b.redisError("heartbeat")
		return fmt.Errorf("remove heartbeat: %w", err)
	}
	return nil
}
