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

// player is one guest: its session token, room and relay session, and what
// its rejoin measured. Its Handler methods run on the session's read
// goroutine.
type player struct {
	client.NopHandler
	idx     int
	ctl     *client.Control
	local   net.IP
	token   string
	room    string
	resume  string
	sess    atomic.Pointer[client.Session]
	lastSeq atomic.Uint64 // highest room sequence seen before the kill
	closed  chan struct{} // closed once the first session ends
	once    sync.Once
	stateOK chan struct{} // the state key's StateChanged arrived (setter only)
	key     string
	keyOnce sync.Once

	// Set by rejoin.
	closedAt   time.Time
	back       bool
	backAt     time.Time
	requestDur time.Duration // admitted attempt: POST /v1/join → Welcome
	joinDur    time.Duration // its join request alone
	requests   int
	sameRoom   bool
	stateKept  bool
	seqKept    bool
}

func (p *player) Closed(string) { p.once.Do(func() { close(p.closed) }) }

func (p *player) seen(seq uint64) {
	for {
		cur := p.lastSeq.Load()
		if seq <= cur || p.lastSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

func (p *player) MemberJoined(_ client.Member, seq uint64)  { p.seen(seq) }
func (p *player) MemberLeft(_ uint32, _ string, seq uint64) { p.seen(seq) }
func (p *player) Emote(_ uint32, _ string, seq uint64)      { p.seen(seq) }
func (p *player) Announcement(_ string, seq uint64)         { p.seen(seq) }
func (p *player) StateChanged(key string, _ []byte, _ uint64, _ bool, seq uint64) {
	p.seen(seq)
	if p.stateOK != nil && key == p.key {
		p.keyOnce.Do(func() { close(p.stateOK) })
	}
}

// rejoinHandler is the Handler of the sessions after the kill: it only
// needs to keep quiet.
type rejoinHandler struct{ client.NopHandler }

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

// rejoin waits for p's session to end, then rejoins by the rule of
// docs/protocol.md §8 until a Welcome or the deadline.
func (s *storm) rejoin(ctx context.Context, p *player, rng *rand.Rand) {
	select {
	case <-p.closed:
	case <-ctx.Done():
		return
	}
	p.closedAt = time.Now()
	ctx, cancel := context.WithDeadline(ctx, s.deadline)
	defer cancel()
	req := client.JoinRequest{RoomID: p.room, ResumeSessionID: p.resume}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		t0 := time.Now()
		s.requests.add(t0)
		s.totalReqs.Add(1)
		p.requests++
		j, err := p.ctl.JoinWith(ctx, p.token, p.local, req)
		var hint time.Duration
		if err == nil {
			joined := time.Now()
			var sess *client.Session
			sess, err = client.Dial(ctx, j.URL, j.Ticket, client.DialOptions{Local: p.local, Handler: rejoinHandler{}, WelcomeTimeout: 5 * time.Second})
			if err == nil {
				now := time.Now()
				p.back, p.backAt = true, now
				p.requestDur, p.joinDur = now.Sub(t0), joined.Sub(t0)
				p.sameRoom = sess.RoomID() == p.room
				p.stateKept = string(sess.WelcomeState()[s.cfg.StateKey]) == "kept"
				p.seqKept = sess.WelcomeSequence() >= p.lastSeq.Load()
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
