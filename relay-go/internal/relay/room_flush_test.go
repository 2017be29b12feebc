package relay

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// With ReliableWithTick a chat line handled between two ticks is written
// together with the next tick's movement batch: one socket write carrying
// both frames per member. Without it the line is written at once and the
// tick costs a second write.
func TestReliableFramesRideWithTheTick(t *testing.T) {
	for _, withTick := range []bool{true, false} {
		t.Run(fmt.Sprintf("with-tick=%v", withTick), func(t *testing.T) {
			w := coord.DefaultWorldConfig()
			w.TickRateHz = 1 // the test drives ticks; the ticker stays out of the way
			r, sessions := benchRoom(t, w, 3, func(c *HubConfig) { c.ReliableWithTick = withTick })
			conns := make([]*countingConn, len(sessions))
			for i, s := range sessions {
				conns[i] = s.conn.(*countingConn)
			}
			chat := wire.NewEncoder(256).ChatSend("hello", 1)
			// A stray ticker tick inside the scenario would flush early; the
			// tick counter shows it and the scenario runs again.
			for attempt := 0; attempt < 5; attempt++ {
				_, before := r.tickCount() // flush what joins queued
				// Welcomes went through the hub's flush workers: wait until
				// every queue is idle, so the room's pushes own the flushes.
				waitFor(t, func() bool {
					for _, s := range sessions {
						if !s.q.Idle() {
							return false
						}
					}
					return true
				})
				writes := make([]int64, len(conns))
				frames := make([]int64, len(conns))
				for i, c := range conns {
					writes[i], frames[i] = c.writes.Load(), c.frames.Load()
				}
				sessions[0].lastRecv.Store(0)
				sessions[0].Frame(chat, false)
				// Make sure the room handled the line and finished that burst
				// of inputs before the tick is asked for.
				if _, err := r.request(context.Background(), unmuteRequest{userID: "nobody"}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
				if !withTick {
					waitFor(t, func() bool {
						for i, c := range conns {
							if c.writes.Load() == writes[i] {
								return false
							}
						}
						return true
					})
				}
				for _, s := range sessions {
					s.putMove(&wire.Move{Transform: *at(1, 2), ClientTimeMs: 7})
				}
				_, after := r.tickCount()
				if after != before+1 {
					continue
				}
				wantWrites := int64(1)
				if !withTick {
					wantWrites = 2
				}
				for i, c := range conns {
					if dw, df := c.writes.Load()-writes[i], c.frames.Load()-frames[i]; dw != wantWrites || df != 2 {
						t.Fatalf("member %d: %d writes carrying %d frames, want %d writes carrying 2 (chat + batch)", i, dw, df, wantWrites)
					}
				}
				return
			}
			t.Fatal("the ticker kept interfering")
		})
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// A Pong is written at once even while the room holds the session's flush
// for its next tick (a 1 Hz tick here): round-trip measurements must not
// include the tick wait.
func TestPongDoesNotWaitForTheTick(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.World.TickRateHz = 1 })
	a, _ := e.join("room-pong", "alice")
	b, _ := e.join("room-pong", "bob")
	_ = b
	a.expect(protocol.MessageMemberJoined) // written with a tick: the room's flush is idle again
	a.send(a.enc.ChatSend("hold the flush", 1))
	time.Sleep(20 * time.Millisecond) // the room queued the line for alice and owns her flush
	sent := time.Now()
	a.send(a.enc.Ping(1, 77))
	for {
		env, err := a.read(2 * time.Second)
		if err != nil {
			t.Fatalf("no Pong: %v", err)
		}
		if env.Message.Type == protocol.MessagePong {
			if d := time.Since(sent); d > 200*time.Millisecond {
				t.Fatalf("Pong took %v: it waited for the tick", d)
			}
			return
		}
	}
}
