package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// WorkerResult is what one worker process measured. Counts are totals over
// the worker's members; the coordinator adds results up.
type WorkerResult struct {
	Worker     int `json:"worker"`
	Joined     int `json:"joined"`
	JoinFailed int `json:"join_failed"`
	Present    int `json:"present"` // joined and still connected at the end

	MovesSent    uint64 `json:"moves_sent"`
	ChatsSent    uint64 `json:"chats_sent"`
	SendErrors   uint64 `json:"send_errors"`
	MovementRecv uint64 `json:"movement_recv"` // avatar updates received inside the window
	// MovementRepeats are updates received again (same sender and client
	// time); they are not in MovementRecv.
	MovementRepeats uint64 `json:"movement_repeats"`

	ChatRecvUnique      uint64 `json:"chat_recv_unique"` // by members present at the end
	ChatDuplicates      uint64 `json:"chat_duplicates"`
	ChatOrderViolations uint64 `json:"chat_order_violations"` // a sender's lines out of order or with a gap
	ChatSeqRegressions  uint64 `json:"chat_seq_regressions"`  // room sequence not increasing

	ChatSentPerRoom   map[int]uint64 `json:"chat_sent_per_room"`
	PresentPerRoom    map[int]int    `json:"present_per_room"`
	ChatUniquePerRoom map[int]uint64 `json:"chat_unique_per_room"`

	MoveLatency  Snapshot `json:"move_latency_us"`
	BatchLatency Snapshot `json:"batch_latency_us"`
	MoveSendLag  Snapshot `json:"move_send_lag_us"`
	ChatLatency  Snapshot `json:"chat_latency_us"`
	ConnectTime  Snapshot `json:"connect_time_us"`
	JoinTime     Snapshot `json:"join_time_us"`
	ControlTime  Snapshot `json:"control_time_us"`

	FirstJoinStartUs int64 `json:"first_join_start_us"`
	LastJoinDoneUs   int64 `json:"last_join_done_us"`

	Events map[string]uint64 `json:"events"`
	// Examples holds the first error text of each join failure kind.
	Examples map[string]string `json:"examples,omitempty"`

	// CPUSeconds is this worker process's own CPU over the window, so a
	// report shows whether the load generator itself was short of CPU.
	CPUSeconds float64 `json:"cpu_s"`
}

// message is one line of the coordinator <-> worker pipe protocol.
type message struct {
	Type        string        `json:"type"` // worker: joined | result | log; coordinator: start | stop
	Worker      int           `json:"worker,omitempty"`
	Joined      int           `json:"joined,omitempty"`
	Failed      int           `json:"failed,omitempty"`
	StartUnixMs int64         `json:"start_unix_ms,omitempty"`
	Result      *WorkerResult `json:"result,omitempty"`
	Text        string        `json:"text,omitempty"`
	// Events (joined) counts join failures by kind; Text is one example.
	Events map[string]uint64 `json:"events,omitempty"`
}

// worker runs one process's share of the members.
type worker struct {
	plan   *Plan
	target Target

	measuring atomic.Bool
	moveLat   [8]Histogram
	chatLat   Histogram
	batchLat  Histogram // server stamp -> receipt of movement frames
	sendLag   Histogram // Move send time - its scheduled time
	connLat   Histogram
	ctlLat    Histogram // control-plane sign-in + join calls
	joinLat   Histogram
	movesSent atomic.Uint64
	chatsSent atomic.Uint64
	sendErrs  atomic.Uint64
	chatRecv  atomic.Uint64 // chat lines received, for the grace period

	evMu        sync.Mutex
	events      map[string]uint64
	chatPerRoom map[int]uint64    // chat lines sent by this worker's members, by room
	firstErr    string            // the first join error, as an example for the log
	examples    map[string]string // first error text per join failure kind

	membersMu sync.Mutex // guards members while joinAll appends and keepAlive reads
	members   []*memberState
	cpuWindow float64
}

// memberState is one member's session and receive-side bookkeeping; it is
// the member's Sink.
type memberState struct {
	w       *worker
	m       Member
	sess    Session
	moveRcv atomic.Uint64
	moveRep atomic.Uint64 // updates that repeated the sender's previous one
	// lastMove is the client time of the last update seen per sender (only
	// the session's reader touches it).
	lastMove map[uint32]uint32
	closed   atomic.Bool
	sentAt   atomic.Int64 // Unix ms of the last frame sent (for keep-alives)

	mu       sync.Mutex
	lastFrom map[int]uint64 // sender index -> last chat counter seen
	unique   uint64
	dups     uint64
	order    uint64
	lastSeq  uint64
	seqRegr  uint64
}

func (w *worker) event(kind string) {
	w.evMu.Lock()
	w.events[kind]++
	w.evMu.Unlock()
}

func (s *memberState) Movement(nowUs int64, from uint32, sentMsLow uint32) {
	if !s.w.measuring.Load() {
		return
	}
	// An update a server sends again (same sender, same client time) is
	// neither a delivery nor a latency sample: count it apart.
	if last, ok := s.lastMove[from]; ok && last == sentMsLow {
		s.moveRep.Add(1)
		return
	}
	if s.lastMove == nil {
		s.lastMove = make(map[uint32]uint32, 64)
	}
	s.lastMove[from] = sentMsLow
	s.moveRcv.Add(1)
	nowMs := nowUs / 1000
	sent := (nowMs &^ 0xffffffff) | int64(sentMsLow)
	if sent > nowMs+1<<31 {
		sent -= 1 << 32
	}
	s.w.moveLat[s.m.Index&7].Record(nowUs - sent*1000)
}

func (s *memberState) Batch(nowUs int64, serverMs int64) {
	if s.w.measuring.Load() && serverMs > 0 {
		s.w.batchLat.Record(nowUs - serverMs*1000)
	}
}

// Chat checks a line "lg|<sender>|<n>|<sentUs>|...": every sender numbers
// its lines 1, 2, 3, ... so each receiver can check exactly-once, in order.
func (s *memberState) Chat(nowUs int64, text []byte, seq uint64) {
	sender, n, sentUs, ok := parseChat(text)
	if !ok {
		s.w.event("chat_unparsed")
		return
	}
	s.w.chatLat.Record(nowUs - sentUs)
	s.w.chatRecv.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.lastFrom[sender]
	switch {
	case n <= last:
		s.dups++
	case n == last+1:
		s.unique++
		s.lastFrom[sender] = n
	default:
		s.order++
		s.unique++
		s.lastFrom[sender] = n
	}
	if seq != 0 {
		if seq <= s.lastSeq {
			s.seqRegr++
		}
		s.lastSeq = seq
	}
}

func (s *memberState) Event(kind string) { s.w.event(kind) }

func (s *memberState) Closed(kind string) {
	s.closed.Store(true)
	s.w.event(kind)
}

func chatText(sender int, n uint64, sentUs int64, size int) string {
	b := make([]byte, 0, size)
	b = append(b, "lg|"...)
	b = strconv.AppendInt(b, int64(sender), 10)
	b = append(b, '|')
	b = strconv.AppendUint(b, n, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, sentUs, 10)
	b = append(b, '|')
	for len(b) < size {
		b = append(b, 'a'+byte(len(b)%26))
	}
	return string(b)
}

func parseChat(t []byte) (sender int, n uint64, sentUs int64, ok bool) {
	if len(t) < 3 || string(t[:3]) != "lg|" {
		return 0, 0, 0, false
	}
	var f [3]uint64
	p := 3
	for i := range f {
		start := p
		for p < len(t) && t[p] != '|' {
			c := t[p]
			if c < '0' || c > '9' {
				return 0, 0, 0, false
			}
			f[i] = f[i]*10 + uint64(c-'0')
			p++
		}
		if p == start || p-start > 18 || p >= len(t) { // 18 digits never overflow
			return 0, 0, 0, false
		}
		p++
	}
	return int(f[0]), f[1], int64(f[2]), true
}

// RunWorker is the body of a worker process: it reads its Plan and then
// commands from in, and writes JSON lines to out. It returns when the run
// is over (or the coordinator goes away) and every session is closed.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	if !sc.Scan() {
		return fmt.Errorf("worker: no plan on stdin: %v", sc.Err())
	}
	var plan Plan
	if err := json.Unmarshal(sc.Bytes(), &plan); err != nil {
		return fmt.Errorf("worker: plan: %w", err)
	}
	target, err := newTarget(&plan)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	w := &worker{plan: &plan, target: target, events: map[string]uint64{}, chatPerRoom: map[int]uint64{}, examples: map[string]string{}}
	var outMu sync.Mutex
	send := func(m message) {
		m.Worker = plan.Worker
		b, _ := json.Marshal(m)
		outMu.Lock()
		defer outMu.Unlock()
		_, _ = out.Write(append(b, '\n'))
	}
	cmds := make(chan message, 4)
	go func() {
		defer close(cmds)
		for sc.Scan() {
			var m message
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				cmds <- m
			}
		}
	}()

	jt := time.Duration(plan.JoinTimeoutMs) * time.Millisecond
	if jt == 0 {
		jt = 3 * time.Minute
	}
	kctx, stopKeepAlive := context.WithCancel(ctx)
	kdone := make(chan struct{})
	go func() { defer close(kdone); w.keepAlive(kctx) }()
	defer func() { stopKeepAlive(); <-kdone }()
	jctx, cancel := context.WithTimeout(ctx, jt)
	res := w.joinAll(jctx)
	cancel()
	defer w.closeAll()
	w.evMu.Lock()
	ev := map[string]uint64{}
	for k, v := range w.events {
		ev[k] = v
	}
	sample := w.firstErr
	w.evMu.Unlock()
	send(message{Type: "joined", Joined: res.Joined, Failed: res.JoinFailed, Events: ev, Text: sample})

	var start message
	select {
	case m, ok := <-cmds:
		if !ok || m.Type != "start" {
			return errors.New("worker: coordinator stopped the run")
		}
		start = m
	case <-ctx.Done():
		return ctx.Err()
	}
	w.drive(ctx, time.UnixMilli(start.StartUnixMs))
	w.collect(res)
	send(message{Type: "result", Result: res})
	return nil
}

// joinAll joins every member of the plan with bounded concurrency (and an
// optional start rate), recording connect and join times.
func (w *worker) joinAll(ctx context.Context) *WorkerResult {
	p := w.plan
	conc := p.ConnectConcurrency
	if conc <= 0 {
		conc = 64
	}
	res := &WorkerResult{Worker: p.Worker}
	var tick <-chan time.Time
	if p.ConnectRate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / p.ConnectRate))
		defer t.Stop()
		tick = t.C
	}
	sem := make(chan struct{}, conc)
	var mu sync.Mutex
	var wg sync.WaitGroup
	res.FirstJoinStartUs = time.Now().UnixMicro()
	for i := range p.Members {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			mu.Lock()
			res.JoinFailed++
			mu.Unlock()
			w.event("join_deadline")
			continue
		}
		wg.Add(1)
		go func(m Member) {
			defer func() { <-sem; wg.Done() }()
			ms := &memberState{w: w, m: m, lastFrom: map[int]uint64{}}
			sess, tm, err := w.target.Join(ctx, &ms.m, p.sourceIP(m.Index), ms)
			if err != nil {
				kind := "join_other"
				var je *JoinError
				if errors.As(err, &je) {
					kind = je.Kind
					if !strings.HasPrefix(kind, "join") {
						kind = "join_" + kind
					}
				}
				w.event(kind)
				w.evMu.Lock()
				if w.firstErr == "" {
					w.firstErr = err.Error()
				}
				if _, ok := w.examples[kind]; !ok && len(w.examples) < 32 {
					w.examples[kind] = err.Error()
				}
				w.evMu.Unlock()
				mu.Lock()
				res.JoinFailed++
				mu.Unlock()
				return
			}
			ms.sess = sess
			ms.sentAt.Store(time.Now().UnixMilli())
			w.connLat.Record(tm.Connect.Microseconds())
			if tm.Control > 0 {
				w.ctlLat.Record(tm.Control.Microseconds())
			}
			w.joinLat.Record(tm.Join.Microseconds())
			done := time.Now().UnixMicro()
			mu.Lock()
			res.Joined++
			w.membersMu.Lock()
			w.members = append(w.members, ms)
			w.membersMu.Unlock()
			if done > res.LastJoinDoneUs {
				res.LastJoinDoneUs = done
			}
			mu.Unlock()
		}(p.Members[i])
	}
	wg.Wait()
	return res
}

// drive runs the measured window: every member moves and chats on its own
// timer, from start for the workload's duration; then waits the grace
// period for late chat lines.
func (w *worker) drive(ctx context.Context, start time.Time) {
	wl := &w.plan.Work
	end := start.Add(wl.Duration())
	if d := time.Until(start); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
	}
	cpu0, _ := ProcCPUSeconds(os.Getpid())
	w.measuring.Store(true)
	var wg sync.WaitGroup
	if wl.MoveHz > 0 || wl.ChatPerSec > 0 {
		for _, ms := range w.members {
			wg.Add(1)
			go func(ms *memberState) {
				defer wg.Done()
				ms.run(ctx, start, end)
			}(ms)
		}
	}
	select {
	case <-time.After(time.Until(end)):
	case <-ctx.Done():
	}
	wg.Wait()
	w.measuring.Store(false)
	if cpu1, err := ProcCPUSeconds(os.Getpid()); err == nil {
		w.cpuWindow = cpu1 - cpu0
	}
	// Grace: wait for chat still in flight until none has arrived for
	// chatQuiet, at most the workload's grace. A saturated server delivers
	// late, not never; completeness counts what arrived by then.
	deadline := time.Now().Add(wl.grace())
	last, quietSince := w.chatRecv.Load(), time.Now()
	for time.Now().Before(deadline) {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return
		}
		if cur := w.chatRecv.Load(); cur != last {
			last, quietSince = cur, time.Now()
		} else if time.Since(quietSince) >= chatQuiet {
			return
		}
	}
}

// chatQuiet ends the grace period early once no chat arrives for this long.
const chatQuiet = 1500 * time.Millisecond

// run is one member's sending loop: Move at MoveHz and ChatSend at
// ChatPerSec, each with a random phase so members do not send in lockstep.
func (s *memberState) run(ctx context.Context, start, end time.Time) {
	wl := &s.w.plan.Work
	rng := rand.New(rand.NewPCG(s.w.plan.Seed, uint64(s.m.Index)))
	area := wl.Area
	if area == 0 {
		area = 40
	}
	walker := client.NewWalker(rng, area)
	chatBytes := wl.ChatBytes
	if chatBytes == 0 {
		chatBytes = 48
	}
	const never = time.Duration(1<<63 - 1)
	moveEvery, chatEvery := never, never
	nextMove, nextChat := end, end
	if wl.MoveHz > 0 {
		moveEvery = time.Duration(float64(time.Second) / wl.MoveHz)
		nextMove = start.Add(time.Duration(rng.Int64N(int64(moveEvery))))
	}
	if wl.ChatPerSec > 0 {
		chatEvery = time.Duration(float64(time.Second) / wl.ChatPerSec)
		nextChat = start.Add(time.Duration(rng.Int64N(int64(chatEvery))))
	}
	var chatN uint64
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := nextMove
		if nextChat.Before(next) {
			next = nextChat
		}
		if !next.Before(end) || s.closed.Load() {
			return
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		now := time.Now()
		if !now.Before(nextMove) {
			s.w.sendLag.Record(now.Sub(nextMove).Microseconds())
			p := walker.At(now.Sub(start).Seconds())
			s.sentAt.Store(now.UnixMilli())
			if err := s.sess.Move(&p, now.UnixMilli()); err != nil {
				s.w.sendErrs.Add(1)
			} else {
				s.w.movesSent.Add(1)
			}
			for !nextMove.After(now) {
				nextMove = nextMove.Add(moveEvery)
			}
		}
		if !now.Before(nextChat) {
			chatN++
			s.sentAt.Store(now.UnixMilli())
			if err := s.sess.Chat(chatText(s.m.Index, chatN, now.UnixMicro(), chatBytes), uint32(chatN)); err != nil {
				s.w.sendErrs.Add(1)
				chatN-- // not sent: receivers must not expect it
			} else {
				s.w.chatsSent.Add(1)
				s.w.evMu.Lock()
				s.w.chatPerRoom[s.m.Room]++
				s.w.evMu.Unlock()
			}
			nextChat = nextChat.Add(chatEvery)
		}
	}
}

// collect fills res with everything measured.
func (w *worker) collect(res *WorkerResult) {
	res.MovesSent = w.movesSent.Load()
	res.ChatsSent = w.chatsSent.Load()
	res.SendErrors = w.sendErrs.Load()
	res.CPUSeconds = w.cpuWindow
	res.ChatSentPerRoom = map[int]uint64{}
	res.PresentPerRoom = map[int]int{}
	res.ChatUniquePerRoom = map[int]uint64{}
	for _, ms := range w.members {
		res.MovementRecv += ms.moveRcv.Load()
		res.MovementRepeats += ms.moveRep.Load()
		ms.mu.Lock()
		res.ChatDuplicates += ms.dups
		res.ChatOrderViolations += ms.order
		res.ChatSeqRegressions += ms.seqRegr
		if !ms.closed.Load() {
			res.Present++
			res.PresentPerRoom[ms.m.Room]++
			res.ChatUniquePerRoom[ms.m.Room] += ms.unique
			res.ChatRecvUnique += ms.unique
		}
		ms.mu.Unlock()
	}
	for i := range w.moveLat {
		res.MoveLatency.Merge(w.moveLat[i].Snapshot())
	}
	res.ChatLatency = w.chatLat.Snapshot()
	res.BatchLatency = w.batchLat.Snapshot()
	res.MoveSendLag = w.sendLag.Snapshot()
	res.ConnectTime = w.connLat.Snapshot()
	res.JoinTime = w.joinLat.Snapshot()
	res.ControlTime = w.ctlLat.Snapshot()
	w.evMu.Lock()
	for r, n := range w.chatPerRoom {
		res.ChatSentPerRoom[r] = n
	}
	res.Events = map[string]uint64{}
	for k, v := range w.events {
		res.Events[k] = v
	}
	res.Examples = map[string]string{}
	for k, v := range w.examples {
		res.Examples[k] = v
	}
	w.evMu.Unlock()
}

// closeAll closes every session with a normal close, a few at a time, and
// waits briefly so the server sees clean closes rather than resets.
func (w *worker) closeAll() {
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for _, ms := range w.members {
		if ms.sess == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(ms *memberState) {
			defer func() { <-sem; wg.Done() }()
			_ = ms.sess.Close()
		}(ms)
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
}

// keepAlive pings every session that supports it (Pinger) and has sent
// nothing for KeepAlive, like a real client's keep-alive timer. It runs
// from the first join until the worker is done, spreading pings over time.
func (w *worker) keepAlive(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		w.membersMu.Lock()
		ms := w.members
		w.membersMu.Unlock()
		now := time.Now().UnixMilli()
		for _, m := range ms {
			p, ok := m.sess.(Pinger)
			if !ok || m.closed.Load() || now-m.sentAt.Load() < KeepAlive.Milliseconds() {
				continue
			}
			m.sentAt.Store(now)
			if err := p.Ping(now); err != nil {
				w.sendErrs.Add(1)
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
}
