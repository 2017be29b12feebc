package w3r

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// KeepAliveEvery is how often the driver pings every session: the relay
// closes sessions silent for its idle timeout (30 s), and seating 5,000
// players takes longer than that.
const KeepAliveEvery = 5 * time.Second

// httpClient is one HTTP client for every player: connections come from
// the source addresses in turn, and up to one idle connection per player
// is kept, as separate clients would each keep theirs.
func httpClient(cfg *Config) *http.Client {
	var next atomic.Uint64
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			i := int(next.Add(1))
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: cfg.sourceIP(i)}}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        cfg.Players + 64,
		MaxIdleConnsPerHost: cfg.Players + 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// controls returns, per control plane URL, the Control used to seat (with
// its own retries) and the one used in the storm (one attempt per call:
// the player paces itself by the rule, so each attempt is counted).
func controls(cfg *Config, hc *http.Client) (seat, storm []*client.Control) {
	for _, u := range cfg.ControlURLs {
		a := client.NewControl(u, cfg.World)
		a.HTTP, a.DevicePrefix = hc, "w3r"
		b := client.NewControl(u, cfg.World)
		b.HTTP, b.Attempts = hc, 1
		seat, storm = append(seat, a), append(storm, b)
	}
	return seat, storm
}

// Run seats the players, then for each of cfg.Rounds storms prints Ready
// to out, waits for a line on in (the kill of the relay the players are
// on), runs the storm and prints its Result as {"round":k,"result":...}.
// It returns every round's Result; it stops after a round that left a
// player out (the next storm would not start from everyone seated).
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer, logf func(string, ...any)) ([]*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	hc := httpClient(&cfg)
	seatCtl, stormCtl := controls(&cfg, hc)
	for _, c := range seatCtl {
		if err := c.Ping(ctx); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	players := make([]*player, cfg.Players)
	for i := range players {
		players[i] = &player{idx: i, ctl: stormCtl[i%len(stormCtl)], local: cfg.sourceIP(i), stateOK: make(chan struct{}), key: cfg.StateKey}
	}
	go keepAlive(ctx, players) // seating takes longer than the relay's idle timeout
	if err := seat(ctx, &cfg, seatCtl, players, logf); err != nil {
		return nil, err
	}
	rooms, err := setState(ctx, &cfg, players)
	if err != nil {
		return nil, err
	}
	seatS := time.Since(t0).Seconds()
	logf("w3r: %d players seated in %d rooms in %.1f s", len(players), rooms, seatS)
	lines := bufio.NewReader(in)
	var results []*Result
	for round := range cfg.Rounds {
		time.Sleep(cfg.Settle) // the relay writes its room snapshots
		ready, _ := json.Marshal(Ready{Ready: true, Round: round, Players: len(players), Rooms: rooms, SeatS: seatS})
		if _, err := fmt.Fprintf(out, "%s\n", ready); err != nil {
			return results, err
		}
		if _, err := lines.ReadString('\n'); err != nil {
			return results, fmt.Errorf("round %d: waiting for the kill line on stdin: %w", round, err)
		}
		res := runStorm(ctx, &cfg, players)
		res.Round, res.Rooms, res.SeatS, res.Controls = round, rooms, seatS, cfg.ControlURLs
		results = append(results, res)
		line, _ := json.Marshal(map[string]any{"round": round, "result": res})
		if _, err := fmt.Fprintf(out, "%s\n", line); err != nil {
			return results, err
		}
		logf("w3r round %d: %d/%d back, last %.2f s after the kill; request→Welcome p50 %.1f ms p99 %.1f ms; %d join requests, %d 503s",
			round, res.Back, res.Players, res.AllBackS, res.RequestP50Ms, res.RequestP99Ms, res.JoinRequests, res.HTTP503)
		if res.Back < res.Players || ctx.Err() != nil {
			break
		}
	}
	return results, ctx.Err()
}

// seat signs every player in, joins it and connects it, SeatConcurrency at
// a time; any failure fails the run (the storm needs everyone seated).
func seat(ctx context.Context, cfg *Config, seatCtl []*client.Control, players []*player, logf func(string, ...any)) error {
	sem := make(chan struct{}, cfg.SeatConcurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var seated atomic.Int64
	for i, p := range players {
		n := i % len(seatCtl)
		sem <- struct{}{}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := seatOne(ctx, seatCtl[n], p); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("seating player %d: %w", p.idx, err)
				}
				mu.Unlock()
				return
			}
			if k := seated.Add(1); k%1000 == 0 {
				logf("w3r: %d seated", k)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func seatOne(ctx context.Context, ctl *client.Control, p *player) error {
	tok, err := ctl.SignIn(ctx, client.Guest{DeviceID: ctl.DeviceID(fmt.Sprintf("player%06d", p.idx)), Name: fmt.Sprintf("w3r %d", p.idx)}, nil)
	if err != nil {
		return err
	}
	j, err := ctl.Join(ctx, tok, nil)
	if err != nil {
		return err
	}
	sk := newSink(p)
	s, err := client.Dial(ctx, j.URL, j.Ticket, client.DialOptions{Local: p.local, Handler: sk})
	if err != nil {
		return err
	}
	p.sink.Store(sk)
	p.token, p.room, p.resume = tok, s.RoomID(), s.SessionID()
	p.seen(s.WelcomeSequence())
	p.sess.Store(s)
	return nil
}

// setState has the first-seated member of each room set the state key and
// waits for its StateChanged; it returns the number of rooms.
func setState(ctx context.Context, cfg *Config, players []*player) (int, error) {
	first := map[string]*player{}
	for _, p := range players { // seat order is index order within a room closely enough: any member will do
		if _, ok := first[p.room]; !ok {
			first[p.room] = p
		}
	}
	for room, p := range first {
		if err := p.sess.Load().SetState(&client.StateSet{Key: cfg.StateKey, Value: []byte("kept")}); err != nil {
			return 0, fmt.Errorf("setting the state key of room %s: %w", room, err)
		}
	}
	timeout := time.After(15 * time.Second)
	for room, p := range first {
		select {
		case <-p.stateOK:
		case <-timeout:
			return 0, fmt.Errorf("room %s: no StateChanged for %q within 15 s", room, cfg.StateKey)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return len(first), nil
}

// keepAlive pings every live session every KeepAliveEvery until ctx ends.
func keepAlive(ctx context.Context, players []*player) {
	t := time.NewTicker(KeepAliveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, p := range players {
				if s := p.sess.Load(); s != nil {
					_ = s.Ping(now.UnixMilli()) // a dead socket's error is the storm's business
				}
			}
		}
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// runStorm starts every player's rejoin at the kill and waits for all.
func runStorm(ctx context.Context, cfg *Config, players []*player) *Result {
	killAt := time.Now()
	cpu0 := cpuSeconds()
	span := cfg.Deadline + time.Second
	s := &storm{
		cfg: cfg, killAt: killAt, deadline: killAt.Add(cfg.Deadline),
		welcomes: newTimeline(killAt, cfg.Bucket, span), refused: newTimeline(killAt, cfg.Bucket, span),
		requests: newTimeline(killAt, cfg.Bucket, span), failed: newTimeline(killAt, cfg.Bucket, span),
		failures: map[string]int64{},
	}
	lostBefore := 0
	sinks := make([]*sink, len(players))
	for i, p := range players {
		sinks[i] = p.sink.Load()
		select {
		case <-sinks[i].closed:
			lostBefore++
		default:
		}
	}
	outcomes := make([]outcome, len(players))
	var wg sync.WaitGroup
	for i, p := range players {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.rejoin(ctx, p, sinks[i], &outcomes[i], rand.New(rand.NewPCG(cfg.Seed, uint64(p.idx)<<8|uint64(s.killAt.UnixNano()&0xff))))
		}()
	}
	wg.Wait()
	end := time.Now()
	return summarise(cfg, s, outcomes, end, cpuSeconds()-cpu0, lostBefore)
}

func summarise(cfg *Config, s *storm, outcomes []outcome, end time.Time, cpu float64, lostBefore int) *Result {
	r := &Result{Players: len(outcomes), WithinS: 10, LostBeforeKill: lostBefore, DriverCPUS: cpu, StormS: end.Sub(s.killAt).Seconds()}
	var backS, reqMs, joinMs []float64
	for i := range outcomes {
		p := &outcomes[i]
		if !p.back {
			continue
		}
		r.Back++
		b := p.backAt.Sub(s.killAt).Seconds()
		backS = append(backS, b)
		if b <= r.WithinS {
			r.BackWithin++
		}
		reqMs = append(reqMs, float64(p.requestDur.Microseconds())/1000)
		joinMs = append(joinMs, float64(p.joinDur.Microseconds())/1000)
		if p.sameRoom {
			r.SameRoom++
		}
		if p.stateKept {
			r.StateKept++
		}
		if p.seqKept {
			r.SequenceKept++
		}
	}
	r.AllBackS = quantile(backS, 1)
	r.BackP50S, r.BackP99S = quantile(backS, 0.5), quantile(backS, 0.99)
	r.RequestP50Ms, r.RequestP99Ms = quantile(reqMs, 0.5), quantile(reqMs, 0.99)
	r.JoinP50Ms, r.JoinP99Ms = quantile(joinMs, 0.5), quantile(joinMs, 0.99)
	r.JoinRequests, r.HTTP503, r.Hinted503 = s.totalReqs.Load(), s.total503.Load(), s.hinted.Load()
	r.Failures = s.failures
	r.BucketMs = cfg.Bucket.Milliseconds()
	n := int(end.Sub(s.killAt)/cfg.Bucket) + 1
	r.Welcomes, r.Refused503 = s.welcomes.upTo(n), s.refused.upTo(n)
	r.JoinRequestT, r.FailuresT = s.requests.upTo(n), s.failed.upTo(n)
	return r
}

// quantile is the nearest-rank q-quantile of v (q = 1: the maximum); 0 for
// no values. It sorts v.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	i := int(q*float64(len(v))+0.5) - 1
	return v[min(max(i, 0), len(v)-1)]
}
