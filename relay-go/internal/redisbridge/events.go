package redisbridge

import (
	"context"
	"strconv"
	"sync"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/redis/go-redis/v9"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// streamMaxLen caps P events (XADD … MAXLEN ~ 1000000).
const streamMaxLen = 1000000

// writeBatch is the most events one MULTI/EXEC carries.
const writeBatch = 256

// Events is the Redis coord.EventSink. Publish copies the event into a
// bounded FIFO and returns; one writer goroutine (Bridge.Run) XADDs the
// FIFO's head in batches, in publish order, retrying with backoff while
// Redis is away. When the FIFO is full the oldest event is dropped and
// counted. Each event gets event_id "<relay_id>:<boot_ms>:<counter>": the
// counter grows by one per Publish, so a consumer sees drops as gaps.
type Events struct {
	b       *Bridge
	observe func(coord.Event) // room state tracker; called in Publish
	boot    string            // relay boot time, Unix ms

	mu      sync.Mutex
	ring    []pending // grows up to max, then wraps
	start   int
	n       int
	max     int
	counter uint64
	dropped uint64
	lastLog time.Time
	notify  chan struct{}
}

type pending struct {
	id uint64
	e  coord.Event
}

func newEvents(b *Bridge) *Events {
	return &Events{b: b, boot: strconv.FormatInt(time.Now().UnixMilli(), 10), max: b.cfg.EventBuffer,
		ring: make([]pending, min(b.cfg.EventBuffer, 1024)), notify: make(chan struct{}, 1)}
}

// Publish implements coord.EventSink. It never blocks on Redis.
func (s *Events) Publish(_ context.Context, e coord.Event) {
	if s.observe != nil {
		s.observe(e)
	}
	if e.Kind == coord.EventSequenceAdvanced {
		return // tracker-only: nothing to write
	}
	s.mu.Lock()
	s.counter++
	if s.n == len(s.ring) && len(s.ring) < s.max {
		grown := make([]pending, min(2*len(s.ring), s.max))
		for i := 0; i < s.n; i++ {
			grown[i] = s.ring[(s.start+i)%len(s.ring)]
		}
		s.ring, s.start = grown, 0
	}
	var dropped bool
	if s.n == len(s.ring) {
		s.ring[s.start] = pending{id: s.counter, e: e}
		s.start = (s.start + 1) % len(s.ring)
		s.dropped++
		dropped = true
	} else {
		s.ring[(s.start+s.n)%len(s.ring)] = pending{id: s.counter, e: e}
		s.n++
	}
	logDrop := dropped && time.Since(s.lastLog) > 5*time.Second
	if logDrop {
		s.lastLog = time.Now()
	}
	total, n := s.dropped, s.n
	s.mu.Unlock()
	if dropped {
		s.b.metrics.eventsDropped.Inc()
		if logDrop {
			s.b.log.Error("event buffer full: dropping the oldest events", "buffer", s.max, "dropped_total", total)
		}
	} else {
		s.b.metrics.eventsBuffered.Set(float64(n))
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Buffered returns how many events wait for Redis.
func (s *Events) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Dropped returns how many events were dropped because the buffer was full.
func (s *Events) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Ready implements relay.ReadyChecker: Redis answers PING.
func (s *Events) Ready(ctx context.Context) error { return s.b.Ready(ctx) }

// peek copies up to max events from the head.
func (s *Events) peek(dst []pending, max int) []pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < s.n && i < max; i++ {
		dst = append(dst, s.ring[(s.start+i)%len(s.ring)])
	}
	return dst
}

// ack removes written events (ids up to last) from the head. Events the
// overflow already dropped are simply no longer there.
func (s *Events) ack(last uint64) {
	s.mu.Lock()
	for s.n > 0 && s.ring[s.start].id <= last {
		s.ring[s.start] = pending{}
		s.start = (s.start + 1) % len(s.ring)
		s.n--
	}
	n := s.n
	s.mu.Unlock()
	s.b.metrics.eventsBuffered.Set(float64(n))
}

// write is the writer goroutine: it runs until ctx ends, or until Shutdown
// was called and the buffer is empty.
func (s *Events) write(ctx context.Context) {
	fb := flatbuffers.NewBuilder(512)
	var batch []pending
	var arena []byte
	var bo backoff
	key := s.b.keyspace.events()
	prefix := s.b.cfg.RelayID + ":" + s.boot + ":"
	failing := false
	for {
		batch = s.peek(batch[:0], writeBatch)
		if len(batch) == 0 {
			select {
			case <-s.notify:
				continue
			case <-s.b.stop:
				if s.Buffered() == 0 {
					return
				}
				continue
			case <-ctx.Done():
				return
			}
		}
		arena = arena[:0]
		bounds := make([]int, 0, len(batch)+1)
		bounds = append(bounds, 0)
		for i := range batch {
			arena = append(arena, encodeEvent(fb, prefix+strconv.FormatUint(batch[i].id, 10), s.b.cfg.RelayID, &batch[i].e)...)
			bounds = append(bounds, len(arena))
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := s.b.rdb.TxPipelined(wctx, func(p redis.Pipeliner) error {
			for i := range batch {
				p.XAdd(wctx, &redis.XAddArgs{Stream: key, MaxLen: streamMaxLen, Approx: true, ID: "*", Values: []any{"e", arena[bounds[i]:bounds[i+1]]}})
			}
			return nil
		})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.b.redisError("xadd")
			if !failing {
				s.b.log.Warn("event write failed; buffering and retrying", "err", err, "buffered", s.Buffered())
				failing = true
			}
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		if failing {
			s.b.log.Info("event writes resumed", "buffered", s.Buffered())
			failing = false
		}
		bo.reset()
		s.ack(batch[len(batch)-1].id)
		s.b.metrics.eventsWritten.Add(float64(len(batch)))
	}
}

// waitFlushed returns when the buffer is empty or ctx ends.
func (s *Events) waitFlushed(ctx context.Context) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for s.Buffered() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
