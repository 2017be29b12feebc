package w3r

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// player is one guest: its session token, room and relay session. Each
// of its sessions reports to a sink of its own.
type player struct {
	idx     int
	ctl     *client.Control
	local   net.IP
	token   string
	room    string
	resume  string
	sess    atomic.Pointer[client.Session]
	sink    atomic.Pointer[sink] // the current session's
	lastSeq atomic.Uint64        // highest room sequence seen so far
	stateOK chan struct{}        // the state key's StateChanged arrived
	key     string
	keyOnce sync.Once
}

func (p *player) seen(seq uint64) {
	for {
		cur := p.lastSeq.Load()
		if seq <= cur || p.lastSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// sink is the Handler of one session of a player; its methods run on the
// session's read goroutine.
type sink struct {
	client.NopHandler
	p      *player
	closed chan struct{} // closed once the session ends
	once   sync.Once
}

func newSink(p *player) *sink { return &sink{p: p, closed: make(chan struct{})} }

func (s *sink) Closed(string)                             { s.once.Do(func() { close(s.closed) }) }
func (s *sink) MemberJoined(_ client.Member, seq uint64)  { s.p.seen(seq) }
func (s *sink) MemberLeft(_ uint32, _ string, seq uint64) { s.p.seen(seq) }
func (s *sink) Emote(_ uint32, _ string, seq uint64)      { s.p.seen(seq) }
func (s *sink) Announcement(_ string, seq uint64)         { s.p.seen(seq) }
func (s *sink) StateChanged(key string, _ []byte, _ uint64, _ bool, seq uint64) {
	s.p.seen(seq)
	if key == s.p.key {
		s.p.keyOnce.Do(func() { close(s.p.stateOK) })
	}
}

// outcome is what one player's rejoin measured in one storm.
type outcome struct {
	back       bool
	backAt     time.Time
	requestDur time.Duration // admitted attempt: POST /v1/join → Welcome
	joinDur    time.Duration // its join request alone
	sameRoom   bool
	stateKept  bool
	seqKept    bool
}

// storm is what every player's rejoin shares.
type storm struct {
	cfg      *Config
	killAt   time.Time
	deadline time.Time
	welcomes *timeline
	refused  *timeline
	requests *timeline
	failed   *timeline

	mu        sync.Mutex
	failures  map[string]int64
	hinted    atomic.Int64
	total503  atomic.Int64
	totalReqs atomic.Int64
}

func (s *storm) fail(kind string, at time.Time, is503 bool) {
	s.mu.Lock()
	s.failures[kind]++
	s.mu.Unlock()
	if is503 {
		s.refused.add(at)
		s.total503.Add(1)
	} else {
		s.failed.add(at)
	}
}

// rejoin waits for p's session (its sink sk) to end, then rejoins by the
// rule of docs/protocol.md §8 until a Welcome or the deadline.
func (s *storm) rejoin(ctx context.Context, p *player, sk *sink, o *outcome, rng *rand.Rand) {
	select {
	case <-sk.closed:
	case <-ctx.Done():
		return
	}
	ctx, cancel := context.WithDeadline(ctx, s.deadline)
	defer cancel()
	req := client.JoinRequest{RoomID: p.room, ResumeSessionID: p.resume}
	before := p.lastSeq.Load()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		t0 := time.Now()
		s.requests.add(t0)
		s.totalReqs.Add(1)
		j, err := p.ctl.JoinWith(ctx, p.token, nil, req)
		var hint time.Duration
		if err == nil {
			joined := time.Now()
			next := newSink(p)
			var sess *client.Session
			sess, err = client.Dial(ctx, j.URL, j.Ticket, client.DialOptions{Local: p.local, Handler: next, WelcomeTimeout: 5 * time.Second})
			if err == nil {
				now := time.Now()
				o.back, o.backAt = true, now
				o.requestDur, o.joinDur = now.Sub(t0), joined.Sub(t0)
				o.sameRoom = sess.RoomID() == p.room
				o.stateKept = string(sess.WelcomeState()[s.cfg.StateKey]) == "kept"
				o.seqKept = sess.WelcomeSequence() >= before
				p.seen(sess.WelcomeSequence())
				p.resume = sess.SessionID()
				p.sink.Store(next)
				p.sess.Store(sess)
				s.welcomes.add(now)
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		kind := "other"
		var je *client.JoinError
		if errors.As(err, &je) {
			kind = je.Kind
			if je.Problem != "" {
				kind += "_" + je.Problem // join_http_503_overloaded, join_http_503_no-relay, ...
			}
			hint = je.RetryAfter
			if je.Status == 503 && hint > 0 {
				s.hinted.Add(1)
			}
		}
		s.fail(kind, time.Now(), je != nil && je.Status == 503)
		wait := client.Backoff(attempt, hint, rng.Int64N)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
	}
}
