package relay

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/metrics"
	"github.com/plaza-dev/plaza/relay-go/internal/ratelimit"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// countingConn is the socket end of a benchmark session: it takes writes
// like an uncongested socket and counts them. Benchmarks here measure the
// relay's own work (tick, encode, queue, receive path); socket cost per
// library is measured separately (docs/decisions/002-websocket-library.md).
type countingConn struct{ bytes, writes, frames atomic.Int64 }

func (c *countingConn) WriteBinary(b []byte) error { return c.WriteBinaryBatch([][]byte{b}) }
func (c *countingConn) WriteBinaryBatch(frames [][]byte) error {
	for _, f := range frames {
		c.bytes.Add(int64(len(f)))
	}
	c.frames.Add(int64(len(frames)))
	c.writes.Add(1)
	return nil
}
func (c *countingConn) Buffered() int        { return 0 }
func (c *countingConn) NotifyWritable()      {}
func (c *countingConn) Close(uint16, string) {}
func (c *countingConn) Abort()               {}
func (c *countingConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func benchHub(b testing.TB, world coord.WorldConfig, edit func(*HubConfig)) (*Hub, *tickettest.Signer) {
	b.Helper()
	s := tickettest.NewSigner("k1")
	v, _ := ticket.NewVerifier(ticket.Config{Keys: ticket.StaticKeys{"k1": s.Pub}, Issuer: "plaza-control", Audience: testRelay, Replay: ticket.NewReplayCache(1 << 20)})
	hc := HubConfig{
		RelayID: testRelay, Verifier: v, Worlds: coord.NewMemoryWorldConfigs(world), Events: coord.NewMemoryEvents(1000),
		States: coord.NewMemoryRoomStates(), Assignments: &coord.MemoryAssignments{}, Metrics: metrics.New(), Logger: testLogger(),
		MaxFrameBytes: 16384, SendQueue: 1 << 16, SendBufferBytes: 1 << 20, HelloTimeout: time.Minute, IdleTimeout: time.Hour,
		DrainTimeout: time.Second, DrainRate: 1000,
	}
	if edit != nil {
		edit(&hc)
	}
	h, err := NewHub(hc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.Close)
	return h, s
}

// benchRoom joins n sessions to one room through the real hello path and
// returns the room (stopped ticker: the benchmark drives ticks) and sessions.
func benchRoom(b testing.TB, world coord.WorldConfig, n int, edit func(*HubConfig)) (*Room, []*Session) {
	b.Helper()
	world.RoomCapacity = max(world.RoomCapacity, n)
	h, signer := benchHub(b, world, edit)
	var sessions []*Session
	for i := 0; i < n; i++ {
		s := h.Accept(&countingConn{}, nil).(*Session)
		s.Frame(wire.NewEncoder(256).Hello(signer.Mint(tickettest.Claims(testRelay, "bench", fmt.Sprintf("u%d", i))), "bench", 1), false)
		// The join runs on its own goroutine.
		for deadline := time.Now().Add(5 * time.Second); s.state.Load() != stateJoined; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) || s.closing.Load() {
				b.Fatal("join failed")
			}
		}
		sessions = append(sessions, s)
	}
	return h.room("bench"), sessions
}

func BenchmarkTickFanout(b *testing.B) {
	for _, radius := range []float32{0, 20} {
		for _, n := range []int{10, 50, 200} {
			b.Run(fmt.Sprintf("members=%d/radius=%v", n, radius), func(b *testing.B) {
				w := coord.DefaultWorldConfig()
				w.InterestRadius, w.FarEveryTicks, w.TickRateHz = radius, 5, 1
				r, sessions := benchRoom(b, w, n, nil)
				moves := make([]wire.Move, n)
				for i := range moves {
					// Spread members over a 200 x 200 area.
					moves[i].Transform = *at(float32(i%15)*14, float32(i/15)*14)
				}
				b.ReportAllocs()
				b.ResetTimer()
				var inTick time.Duration
				for i := 0; i < b.N; i++ {
					for j, s := range sessions {
						moves[j].ClientTimeMs = int64(i)
						s.putMove(&moves[j])
					}
					inTick += r.tickNow()
				}
				// ns/op includes waking the room goroutine; tick-ns is the
				// tick itself (what the tick duration histogram records).
				b.ReportMetric(float64(inTick.Nanoseconds())/float64(b.N), "tick-ns")
			})
		}
	}
}

func BenchmarkReceivePath(b *testing.B) {
	w := coord.DefaultWorldConfig()
	w.MovesPerSecond, w.MoveBurst = 1e9, 60000
	w.ChatsPerSecond, w.ChatBurst = 1e9, 60000
	w.StateSetsPerSecond, w.StateSetBurst = 1e9, 60000
	_, sessions := benchRoom(b, w, 2, nil)
	s := sessions[0]
	s.lim.abuse = ratelimit.NewBucket(1e9, 60000, time.Now())
	e := wire.NewEncoder(256)
	frames := map[string][]byte{
		"move":  e.Move(at(1, 2), 12345),
		"chat":  e.ChatSend("hello everyone, how is it going?", 1),
		"state": e.StateSet(&wire.StateSet{Key: "door", Value: []byte("open"), RequestID: 2}),
		"ping":  e.Ping(1, 3),
	}
	for _, name := range []string{"move", "chat", "state", "ping"} {
		f := frames[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f)))
			for i := 0; i < b.N; i++ {
				s.lastRecv.Store(0)
				s.Frame(f, false)
			}
		})
	}
}

// tickNow runs one tick on the room goroutine and waits for it.
// It returns the tick's own duration, measured on the room goroutine.
func (r *Room) tickNow() time.Duration {
	took, _ := r.tickCount()
	return took
}

// tickCount is tickNow that also returns the room's tick counter after it.
func (r *Room) tickCount() (time.Duration, uint64) {
	rep, _ := r.request(context.Background(), tickRequest{})
	return rep.took, uint64(rep.n)
}

func BenchmarkEncodeMovementBatch(b *testing.B) {
	for _, n := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("avatars=%d", n), func(b *testing.B) {
			e := wire.NewEncoder(1024)
			avatars := make([]wire.Avatar, n)
			for i := range avatars {
				avatars[i] = wire.Avatar{MemberID: uint32(i + 1), ClientTimeMsLow: uint32(i), Transform: *at(float32(i), 3)}
			}
			b.ReportAllocs()
			var size int
			for i := 0; i < b.N; i++ {
				size = len(e.MovementBatch(uint64(i), 1700000000000, avatars))
			}
			b.ReportMetric(float64(size), "bytes/frame")
		})
	}
}

// BenchmarkFanoutLoopback is one tick delivered end to end: n real
// WebSocket clients (coder/websocket) on loopback, every member moved, the
// room ticks, and the op ends when every client has read its batch. It adds
// flush workers, nbio writes, the kernel and the clients' reads to
// BenchmarkTickFanout. Clients run in the same process and share the 2 CPUs.
func BenchmarkFanoutLoopback(b *testing.B) {
	for _, n := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			e := startRelay(b, func(c *config.Config) {
				c.World.TickRateHz, c.World.RoomCapacity = 1, 300
				c.IdleTimeout = time.Hour
			})
			got := make(chan struct{}, 4*n)
			for i := 0; i < n; i++ {
				c, _ := e.join("fanout", fmt.Sprintf("u%d", i))
				// A lean reader (reused buffer, no unpacking) so the clients'
				// own costs stay small next to the relay's.
				go func() {
					var buf bytes.Buffer
					for {
						_, rd, err := c.c.Reader(context.Background())
						if err != nil {
							return
						}
						buf.Reset()
						if _, err := buf.ReadFrom(rd); err != nil {
							return
						}
						if wire.PeekType(buf.Bytes()) == protocol.MessageMovementBatch {
							got <- struct{}{}
						}
					}
				}()
			}
			r := e.srv.Hub.room("fanout")
			sessions := e.srv.Hub.allSessions()
			moves := make([]wire.Move, len(sessions))
			for i := range moves {
				moves[i].Transform = *at(float32(i), 0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j, s := range sessions {
					moves[j].ClientTimeMs = int64(i)
					s.putMove(&moves[j])
				}
				r.tickNow()
				for k := 0; k < n; k++ {
					<-got
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
		})
	}
}
