package relay

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

func bigStateConfig(c *config.Config) {
	c.SendBufferBytes = 4096
	c.SocketSendBuffer = 16 << 10
	c.World.MaxStateValueBytes = 12000
	c.World.StateSetsPerSecond, c.World.StateSetBurst = 10000, 10000
	c.World.MaxStateKeys = 10
}

// joinSlow joins a client that has a tiny receive buffer and never reads.
func (e *testRelayEnv) joinSlow(room, user string) *client {
	e.t.Helper()
	c, err := dialOpts(e.t, e.url(), smallReceiveBuffer())
	if err != nil {
		e.t.Fatal(err)
	}
	c.send(c.enc.Hello(e.ticket(room, user, nil), "slow", 1))
	c.expect(protocol.MessageWelcome)
	return c
}

// reader collects a client's frames on a goroutine.
func (c *client) reader() <-chan *protocol.EnvelopeT {
	ch := make(chan *protocol.EnvelopeT, 4096)
	go func() {
		defer close(ch)
		for {
			env, err := c.read(20 * time.Second)
			if err != nil {
				return
			}
			ch <- env
		}
	}()
	return ch
}

func TestSlowConsumerClosedRoomUnaffected(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		bigStateConfig(c)
		c.SendQueue = 32
	})
	slow := e.joinSlow("room-slow", "slow")
	a, _ := e.join("room-slow", "alice")
	// The Welcome is written before the join goroutine marks the session
	// joined; frames that beat it are "early" and bounded (256 frames / 1
	// MiB, session_order.go), and this test sends 4.8 MB at once. A Pong
	// is answered only once the session is joined, so after it nothing
	// alice sends is early, however loaded the machine.
	a.send(a.enc.Ping(1, 1))
	a.expect(protocol.MessagePong)
	frames := a.reader()
	const n = 400
	value := make([]byte, 12000)
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := a.c.Write(ctx, websocket.MessageBinary, a.enc.StateSet(&wire.StateSet{Key: "blob", Value: value, RequestID: uint32(i + 1)})); err != nil {
			t.Fatal(err)
		}
		if i%8 == 7 { // let alice's own reader keep up
			time.Sleep(5 * time.Millisecond)
		}
	}
	changed, slowLeft := 0, false
	deadline := time.After(15 * time.Second)
	for changed < n || !slowLeft {
		select {
		case env, ok := <-frames:
			if !ok {
				t.Fatal("alice's connection closed")
			}
			switch v := env.Message.Value.(type) {
			case *protocol.StateChangedT:
				changed++
			case *protocol.MemberLeftT:
				if v.UserId == "slow" && v.Reason == common.LeaveReasonSlowConsumer {
					slowLeft = true
				}
			}
		case <-deadline:
			t.Fatalf("after 15 s: %d/%d state changes, slow consumer removed: %v", changed, n, slowLeft)
		}
	}
	// 400 x 12 KB reached the fast client promptly: the room did not wait
	// for the stalled one.
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("fan-out took %v", d)
	}
	if got := e.counter("slow_consumers"); got != 1 {
		t.Fatalf("slow consumer closes %v", got)
	}
	if got := e.counter("closes", "4004"); got != 1 {
		t.Fatalf("4004 closes %v", got)
	}
	_ = slow
}

func TestStaleMovementDroppedFirst(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		bigStateConfig(c)
		c.SendQueue = 10000
		c.World.TickRateHz = 50
	})
	slow := e.joinSlow("room-stale", "slow")
	a, _ := e.join("room-stale", "alice")
	frames := a.reader()
	ctx := context.Background()
	value := make([]byte, 12000)
	// Congest the slow client's socket with reliable frames ...
	for i := 0; i < 100; i++ {
		if err := a.c.Write(ctx, websocket.MessageBinary, a.enc.StateSet(&wire.StateSet{Key: "blob", Value: value, RequestID: uint32(i + 1)})); err != nil {
			t.Fatal(err)
		}
	}
	// ... then move for a while: its pending movement batch keeps being
	// replaced by newer ones.
	for i := 0; i < 40; i++ {
		if err := a.c.Write(ctx, websocket.MessageBinary, a.enc.Move(at(float32(i), 0), int64(i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if got := e.counter("drops", "movement"); got < 5 {
		t.Fatalf("movement drops %v, want stale batches replaced", got)
	}
	// The slow client was not disconnected: reliable frames all arrive in
	// order once it reads, with at most a few movement batches between.
	go func() {
		for range frames {
		}
	}()
	var seq uint64
	batches := 0
	for got := 0; got < 100; {
		env, err := slow.read(10 * time.Second)
		if err != nil {
			t.Fatalf("slow client after %d state changes: %v", got, err)
		}
		switch v := env.Message.Value.(type) {
		case *protocol.StateChangedT:
			if seq != 0 && v.Sequence != seq+1 {
				t.Fatalf("sequence %d after %d", v.Sequence, seq)
			}
			seq = v.Sequence
			got++
		case *protocol.MovementBatchT:
			batches++
		}
	}
	if batches > 20 {
		t.Fatalf("%d movement batches reached a congested client; stale ones should have been dropped", batches)
	}
}

// A slow consumer is told why: its 4004 close frame follows what was
// already on its way to it, and the relay keeps the connection until the
// close frame reached the socket (at most transport.CloseWriteTimeout), so
// a client that resumes reading within that time reads everything, then
// 4004. Before the fix the connection was cut a second after the close
// was queued behind a full buffer, and the client saw a dropped
// connection instead.
func TestSlowConsumerReceivesItsClose(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		bigStateConfig(c)
		c.SendQueue = 32
	})
	slow := e.joinSlow("room-slow2", "slow")
	a, _ := e.join("room-slow2", "alice")
	frames := a.reader()
	go func() {
		for range frames {
		}
	}()
	value := make([]byte, 12000)
	ctx := context.Background()
	for i := 0; e.counter("slow_consumers") == 0; i++ {
		if i > 2000 {
			t.Fatal("the slow client was never closed")
		}
		if err := a.c.Write(ctx, websocket.MessageBinary, a.enc.StateSet(&wire.StateSet{Key: "blob", Value: value, RequestID: uint32(i + 1)})); err != nil {
			t.Fatal(err)
		}
		if i%8 == 7 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The client is slow, not gone: it reads again a while later.
	time.Sleep(1500 * time.Millisecond)
	slow.expectClose(common.CloseCodeSlowConsumer)
}
