package relay

import (
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

func at(x, z float32) *wire.Transform {
	return &wire.Transform{Position: [3]float32{x, 1, z}, Rotation: [4]float32{0, 0, 0, 1}, Animation: 2}
}

// nextBatch returns the next MovementBatch that mentions member id.
func (c *client) batchWith(id uint32, timeout time.Duration) *protocol.AvatarTransformT {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		env, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for a batch with member %d: %v", id, err)
		}
		if env.Message.Type != protocol.MessageMovementBatch {
			continue
		}
		for _, a := range env.Message.Value.(*protocol.MovementBatchT).Avatars {
			if a.MemberId == id {
				return a
			}
		}
	}
	c.t.Fatalf("no batch with member %d within %v", id, timeout)
	return nil
}

// noBatchWith checks no batch mentions id for d.
func (c *client) noBatchWith(id uint32, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		env, err := c.read(left)
		if err != nil {
			return // timeout: nothing arrived
		}
		if env.Message.Type != protocol.MessageMovementBatch {
			continue
		}
		for _, a := range env.Message.Value.(*protocol.MovementBatchT).Avatars {
			if a.MemberId == id {
				c.t.Fatalf("far member %d was sent: %+v", id, a)
			}
		}
	}
}

func TestMovementBatchLatestWins(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.World.TickRateHz = 5 })
	a, wa := e.join("room-m", "alice")
	b, _ := e.join("room-m", "bob")
	a.expect(protocol.MessageMemberJoined)
	// Several moves within one 200 ms tick: only the newest is sent.
	for i := 1; i <= 5; i++ {
		a.send(a.enc.Move(at(float32(i), 0), int64(1000+i)))
	}
	got := b.batchWith(wa.MemberId, 2*time.Second)
	if got.Transform.Position.X != 5 || got.ClientTimeMsLow != 1005 || got.Transform.Animation != 2 || got.Transform.Rotation.W != 1 {
		t.Fatalf("batch entry %+v pos %+v", got, got.Transform.Position)
	}
	// The mover gets the same shared batch (its own avatar included).
	if mine := a.batchWith(wa.MemberId, 2*time.Second); mine.Transform.Position.X != 5 {
		t.Fatalf("own entry %+v", mine)
	}
}

func TestMovementOneBatchPerTick(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.World.TickRateHz = 10 })
	a, wa := e.join("room-t", "alice")
	b, _ := e.join("room-t", "bob")
	a.expect(protocol.MessageMemberJoined)
	stop := time.Now().Add(time.Second)
	for i := 0; time.Now().Before(stop); i++ {
		a.send(a.enc.Move(at(float32(i), 0), int64(i)))
		time.Sleep(20 * time.Millisecond)
	}
	// ~50 moves in 1 s at 10 Hz: bob sees about 10 batches, strictly
	// increasing ticks, never two per tick.
	batches := 0
	var lastTick uint64
	deadline := time.Now().Add(300 * time.Millisecond)
	for {
		env, err := b.read(time.Until(deadline))
		if err != nil {
			break
		}
		if env.Message.Type != protocol.MessageMovementBatch {
			continue
		}
		mb := env.Message.Value.(*protocol.MovementBatchT)
		if mb.Tick <= lastTick {
			t.Fatalf("tick %d after %d", mb.Tick, lastTick)
		}
		lastTick = mb.Tick
		if len(mb.Avatars) != 1 || mb.Avatars[0].MemberId != wa.MemberId {
			t.Fatalf("batch %+v", mb)
		}
		batches++
	}
	if batches < 6 || batches > 14 {
		t.Fatalf("%d batches for ~1 s at 10 Hz", batches)
	}
}

func TestInterestManagement(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		c.World.InterestRadius = 10
		c.World.FarEveryTicks = 0 // far avatars never
	})
	a, wa := e.join("room-i", "alice")
	near, _ := e.join("room-i", "near")
	far, _ := e.join("room-i", "far")
	// Place everyone: near at (5,0), far at (200,200).
	near.send(near.enc.Move(at(5, 0), 1))
	far.send(far.enc.Move(at(200, 200), 1))
	time.Sleep(100 * time.Millisecond)
	a.send(a.enc.Move(at(1, 1), 42))
	if got := near.batchWith(wa.MemberId, 2*time.Second); got.ClientTimeMsLow != 42 {
		t.Fatalf("near observer got %+v", got)
	}
	far.noBatchWith(wa.MemberId, 300*time.Millisecond)
}

func TestInterestFarEveryNthTick(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		c.World.InterestRadius = 10
		c.World.FarEveryTicks = 5
		c.World.TickRateHz = 20
	})
	a, wa := e.join("room-f", "alice")
	far, _ := e.join("room-f", "far")
	far.send(far.enc.Move(at(500, 500), 1))
	time.Sleep(100 * time.Millisecond)
	a.send(a.enc.Move(at(0, 0), 7))
	got := far.batchWith(wa.MemberId, 2*time.Second)
	if got.ClientTimeMsLow != 7 {
		t.Fatalf("far observer got %+v", got)
	}
}

// Without an interest radius a move is sent on its own tick only: later
// ticks (far ticks included) never repeat it with its old client time.
func TestMovementSentOnceWithoutInterest(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		c.World.TickRateHz = 50
		c.World.InterestRadius = 0
		c.World.FarEveryTicks = 2
	})
	a, wa := e.join("room-once", "alice")
	b, _ := e.join("room-once", "bob")
	a.expect(protocol.MessageMemberJoined)
	a.send(a.enc.Move(at(3, 0), 4242))
	if got := b.batchWith(wa.MemberId, 2*time.Second); got.ClientTimeMsLow != 4242 {
		t.Fatalf("first entry %+v", got)
	}
	// Ten more ticks, five of them "far" ticks: alice did not move again.
	b.noBatchWith(wa.MemberId, 200*time.Millisecond)
}
