package relay

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
)

// Game clients send a Move per rendered frame. Whatever the rate, the
// session stays open, hears no error, and what the others see last is the
// mover's last Move (latest wins), with the default move limit (30/s, burst
// 30) far below 60 and 144 Hz. Before the fix, over-rate Moves were refused
// and each took an abuse token: a 60 Hz client was closed with 4106 after
// about 2.6 s.
func TestMoversAtRenderRatesStayOpenLatestWins(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		c.World.MovesPerSecond, c.World.MoveBurst = 30, 30 // the defaults, stated
		c.World.TickRateHz = 20
	})
	obs, _ := e.join("room-hz", "observer")
	obsFrames := obs.reader()
	rates := []int{30, 60, 144}
	type mover struct {
		hz     int
		c      *client
		id     uint32
		frames <-chan *protocol.EnvelopeT
	}
	movers := make([]*mover, len(rates))
	for i, hz := range rates {
		c, w := e.join("room-hz", "mover-"+string(rune('a'+i)))
		movers[i] = &mover{hz: hz, c: c, id: w.MemberId, frames: c.reader()}
	}

	// The observer keeps the newest x it saw per member.
	var mu sync.Mutex
	lastX := map[uint32]float32{}
	obsDone := make(chan struct{})
	go func() {
		defer close(obsDone)
		for env := range obsFrames {
			if b, ok := env.Message.Value.(*protocol.MovementBatchT); ok {
				mu.Lock()
				for _, a := range b.Avatars {
					lastX[a.MemberId] = a.Transform.Position.X
				}
				mu.Unlock()
			}
		}
	}()
	// Each mover records anything but batches and pongs, and its close.
	type outcome struct {
		unexpected []string
		pongs      int
	}
	outcomes := make([]outcome, len(movers))
	var readers sync.WaitGroup
	pong := make([]chan struct{}, len(movers))
	for i, m := range movers {
		pong[i] = make(chan struct{}, 1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for env := range m.frames {
				switch env.Message.Type {
				case protocol.MessageMovementBatch, protocol.MessageMemberJoined:
				case protocol.MessagePong:
					outcomes[i].pongs++
					pong[i] <- struct{}{}
				default:
					outcomes[i].unexpected = append(outcomes[i].unexpected, protocol.EnumNamesMessage[env.Message.Type])
				}
			}
			outcomes[i].unexpected = append(outcomes[i].unexpected, "connection closed")
		}()
	}

	const moving = 3500 * time.Millisecond // past the old 2.6 s to 4106
	var senders sync.WaitGroup
	final := func(i int) float32 { return float32(1000 + i) }
	for i, m := range movers {
		senders.Add(1)
		go func() {
			defer senders.Done()
			tk := time.NewTicker(time.Second / time.Duration(m.hz))
			defer tk.Stop()
			end := time.Now().Add(moving)
			n := 0
			for time.Now().Before(end) {
				<-tk.C
				n++
				if err := m.c.c.Write(context.Background(), websocket.MessageBinary, m.c.enc.Move(at(float32(n%500), 0), int64(n))); err != nil {
					return
				}
			}
			// The last Move, straight after the others: over the rate for
			// the fast movers, and it must be the one the others keep.
			_ = m.c.c.Write(context.Background(), websocket.MessageBinary, m.c.enc.Move(at(final(i), 0), int64(n+1)))
		}()
	}
	senders.Wait()

	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		done := true
		for i, m := range movers {
			if lastX[m.id] != final(i) {
				done = false
			}
		}
		snapshot := map[uint32]float32{}
		for k, v := range lastX {
			snapshot[k] = v
		}
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("observer's last positions %v; want each mover's final Move (1000+i)", snapshot)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Every mover is still in the room and answers a Ping.
	for i, m := range movers {
		m.c.send(m.c.enc.Ping(1, uint32(i+1)))
		select {
		case <-pong[i]:
		case <-time.After(3 * time.Second):
			t.Fatalf("%d Hz mover: no Pong (unexpected frames %v)", m.hz, outcomes[i].unexpected)
		}
	}
	if got := e.counter("closes", "4106"); got != 0 {
		t.Fatalf("%v abuse closes", got)
	}
	for _, m := range movers {
		_ = m.c.c.Close(websocket.StatusNormalClosure, "")
	}
	_ = obs.c.Close(websocket.StatusNormalClosure, "")
	readers.Wait()
	<-obsDone
	for i, m := range movers {
		if u := outcomes[i].unexpected; len(u) != 1 { // only the close at the end
			t.Errorf("%d Hz mover received %v", m.hz, u)
		}
	}
}
