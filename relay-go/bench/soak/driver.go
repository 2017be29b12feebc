// Package soak drives the soak's traffic (docs/benchmarks.md, "Soak"): W1-like
// rooms (moves at 10 Hz, chat at 0.2/s per member) through real control
// planes, with churn: members leave and returning players take their place
// all the time, and every room closes after its life and a room with a new
// id opens in its slot. It keeps a chat ledger and checks at the end that
// every line the relay confirmed reached every member present, once.
// Resource sampling (RSS, goroutines, Redis keys) is scripts/soak.py's.
package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// Config is one soak run's traffic.
type Config struct {
	ControlURLs    []string      // control planes; guest g uses ControlURLs[g % len]
	World          string        // world to join
	Duration       time.Duration // churn runs this long, then the final check
	Slots          int           // rooms open at any time
	MembersPerRoom int           // members each room keeps (a leaver is replaced)
	RoomLife       time.Duration // a room closes after RoomLife x [0.75, 1.25]
	StayMin        time.Duration // a member stays uniform [StayMin, StayMax], then leaves
	StayMax        time.Duration
	MoveHz         float64
	ChatPerSec     float64
	StateEvery     time.Duration // each member sets a room state key this often
	JoinsInFlight  int           // concurrent join paths (sign-in + join + Welcome)
	Progress       time.Duration // progress line interval
	Seed           uint64
}

// Validate reports the first bad field.
func (c *Config) Validate() error {
	switch {
	case len(c.ControlURLs) == 0:
		return errors.New("at least one control plane URL is needed")
	case c.World == "":
		return errors.New("world is empty")
	case c.Duration <= 0:
		return fmt.Errorf("duration %v must be positive", c.Duration)
	case c.Slots <= 0 || c.MembersPerRoom <= 0:
		return fmt.Errorf("slots (%d) and members per room (%d) must be positive", c.Slots, c.MembersPerRoom)
	case c.RoomLife <= 0 || c.StayMin <= 0 || c.StayMax < c.StayMin:
		return fmt.Errorf("room life %v, stay [%v, %v]: need positive and min <= max", c.RoomLife, c.StayMin, c.StayMax)
	case c.MoveHz <= 0 || c.ChatPerSec <= 0 || c.StateEvery <= 0:
		return errors.New("move rate, chat rate and state interval must be positive")
	case c.JoinsInFlight <= 0 || c.Progress <= 0:
		return errors.New("joins in flight and progress interval must be positive")
	}
	return nil
}

// Result is what the traffic side measured.
type Result struct {
	Config       Config            `json:"config"`
	Joins        uint64            `json:"joins"`
	JoinFailures map[string]uint64 `json:"join_failures"`
	Leaves       uint64            `json:"leaves"`
	RoomsOpened  uint64            `json:"rooms_opened"`
	RoomsEnded   uint64            `json:"rooms_ended"` // rooms whose members all left (the relay closes them after its empty grace)
	MovesSent    uint64            `json:"moves_sent"`
	ChatsSent    uint64            `json:"chats_sent"`
	StatesSent   uint64            `json:"states_sent"`
	SendErrors   uint64            `json:"send_errors"`
	// Events counts client events (error frames, unexpected closes, ...).
	Events      map[string]uint64 `json:"events"`
	ExactlyOnce ExactlyOnce       `json:"exactly_once"`
}

// Progress is one line of the run's progress stream (JSON lines on stdout).
type Progress struct {
	Type    string `json:"type"` // "progress"
	UnixMs  int64  `json:"unix_ms"`
	Present int64  `json:"present"`
	Joins   uint64 `json:"joins"`
	Leaves  uint64 `json:"leaves"`
	Rooms   uint64 `json:"rooms_opened"`
	Failed  uint64 `json:"join_failed"`
}

type driver struct {
	cfg      Config
	controls []*client.Control
	joinSem  chan struct{}
	run      string

	nextSession atomic.Uint32
	present     atomic.Int64
	joins       atomic.Uint64
	joinFailed  atomic.Uint64
	leaves      atomic.Uint64
	roomsOpened atomic.Uint64
	roomsEnded  atomic.Uint64
	moves       atomic.Uint64
	chats       atomic.Uint64
	states      atomic.Uint64
	sendErrs    atomic.Uint64

	mu       sync.Mutex
	events   map[string]uint64
	failures map[string]uint64
	sessions []*sessionLedger
	sent     map[lineKey]struct{} // lines written, until their echo
	unacked  uint64               // lines whose sender left before their echo
	final    []*member            // sessions alive when churn stopped
}

// Run drives the soak for cfg.Duration, writes progress lines to progress,
// and returns after the final exactly-once check (every remaining member
// sent one last line and the chat went quiet).
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &driver{cfg: cfg, joinSem: make(chan struct{}, cfg.JoinsInFlight), events: map[string]uint64{},
		failures: map[string]uint64{}, sent: map[lineKey]struct{}{}}
	d.run = strconv.FormatUint(rand.Uint64()&0xffffff, 36)
	for _, u := range cfg.ControlURLs {
		c := client.NewControl(u, cfg.World)
		c.DevicePrefix = "soak-player" // device ids must be 16+ characters
		d.controls = append(d.controls, c)
	}
	churnCtx, stopChurn := context.WithTimeout(ctx, cfg.Duration)
	defer stopChurn()
	var wg sync.WaitGroup
	for s := range cfg.Slots {
		wg.Add(1)
		go func() { defer wg.Done(); d.slot(ctx, churnCtx, s) }()
	}
	pdone := make(chan struct{})
	go func() { defer close(pdone); d.progress(churnCtx, progress) }()
	wg.Wait()
	<-pdone
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	d.finish(ctx)
	return d.result(), nil
}

func (d *driver) progress(ctx context.Context, w io.Writer) {
	t := time.NewTicker(d.cfg.Progress)
	defer t.Stop()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_ = enc.Encode(Progress{Type: "progress", UnixMs: time.Now().UnixMilli(), Present: d.present.Load(),
			Joins: d.joins.Load(), Leaves: d.leaves.Load(), Rooms: d.roomsOpened.Load(), Failed: d.joinFailed.Load()})
	}
}

// slot hosts one room after another until churn stops.
func (d *driver) slot(ctx, churnCtx context.Context, s int) {
	rng := rand.New(rand.NewPCG(d.cfg.Seed, uint64(s)))
	for gen := 0; churnCtx.Err() == nil; gen++ {
		room := fmt.Sprintf("soak-%s-s%02d-g%04d", d.run, s, gen)
		life := time.Duration(float64(d.cfg.RoomLife) * (0.75 + 0.5*rng.Float64()))
		roomCtx, endRoom := context.WithTimeout(churnCtx, life)
		rl := &roomLedger{lines: map[uint64]lineKey{}}
		d.roomsOpened.Add(1)
		var wg sync.WaitGroup
		for j := range d.cfg.MembersPerRoom {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.position(ctx, churnCtx, roomCtx, room, rl, s, j, rng.Uint64())
			}()
		}
		wg.Wait()
		endRoom()
		if churnCtx.Err() != nil {
			return
		}
		d.roomsEnded.Add(1)
		select { // the slot stays empty a moment, as a real room would
		case <-time.After(time.Duration(500+rng.IntN(1500)) * time.Millisecond):
		case <-churnCtx.Done():
			return
		}
	}
}

// position is one seat of a room: a member joins, stays, leaves, and a
// returning player (two guests alternate per position) takes the seat.
func (d *driver) position(ctx, churnCtx, roomCtx context.Context, room string, rl *roomLedger, s, j int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(j)))
	base := 2 * (s*d.cfg.MembersPerRoom + j)
	for k := 0; roomCtx.Err() == nil; k++ {
		guest := base + k%2
		m, err := d.join(roomCtx, guest, room, rl)
		if err != nil {
			if roomCtx.Err() != nil {
				return
			}
			select { // a failed join is retried after a pause, as a client would
			case <-time.After(time.Second):
			case <-roomCtx.Done():
				return
			}
			continue
		}
		stay := d.cfg.StayMin + time.Duration(rng.Int64N(int64(d.cfg.StayMax-d.cfg.StayMin)+1))
		stayCtx, cancel := context.WithTimeout(roomCtx, stay)
		m.drive(stayCtx, rng)
		cancel()
		if churnCtx.Err() != nil && ctx.Err() == nil && !m.closed.Load() {
			d.mu.Lock()
			d.final = append(d.final, m) // stays for the final check
			d.mu.Unlock()
			return
		}
		m.leave()
		select {
		case <-time.After(time.Duration(rng.IntN(2000)) * time.Millisecond):
		case <-roomCtx.Done():
			return
		}
	}
}

func (d *driver) join(ctx context.Context, guest int, room string, rl *roomLedger) (*member, error) {
	select {
	case d.joinSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-d.joinSem }()
	c := d.controls[guest%len(d.controls)]
	m := &member{d: d, id: d.nextSession.Add(1), led: &sessionLedger{room: rl, recv: map[uint64]lineKey{}}}
	name := "soak-" + strconv.Itoa(guest)
	g := client.Guest{DeviceID: c.DeviceID(strconv.Itoa(guest)), Name: name}
	sess, _, err := c.JoinRoom(ctx, g, client.JoinRequest{RoomID: room}, client.DialOptions{Handler: m})
	if err != nil {
		if ctx.Err() == nil {
			kind := "join_other"
			var je *client.JoinError
			if errors.As(err, &je) {
				kind = je.Kind
			}
			d.joinFailed.Add(1)
			d.count(d.failures, kind)
		}
		return nil, err
	}
	if sess.RoomID() != room {
		_ = sess.Close()
		d.joinFailed.Add(1)
		d.count(d.failures, "join_wrong_room")
		return nil, fmt.Errorf("joined %s, asked for %s", sess.RoomID(), room)
	}
	m.sess = sess
	d.joins.Add(1)
	d.present.Add(1)
	d.mu.Lock()
	d.sessions = append(d.sessions, m.led)
	d.mu.Unlock()
	return m, nil
}

func (d *driver) count(m map[string]uint64, kind string) {
	d.mu.Lock()
	m[kind]++
	d.mu.Unlock()
}

// finish lets every remaining member send one last line, waits until the
// chat is quiet, checks the ledger and then closes every session.
func (d *driver) finish(ctx context.Context) {
	d.mu.Lock()
	final := d.final
	d.mu.Unlock()
	for _, m := range final {
		m.chat()
	}
	deadline := time.Now().Add(20 * time.Second)
	last, quiet := d.echoes(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
		if cur := d.echoes(); cur != last {
			last, quiet = cur, time.Now()
		} else if time.Since(quiet) > 2*time.Second {
			break
		}
	}
	// Members still here were present for every line of their room from
	// their first sequence on: the check covers all of it.
	for _, m := range final {
		m.led.mu.Lock()
		m.led.last = math.MaxUint64
		m.led.mu.Unlock()
	}
	for _, m := range final {
		m.leave() // counts the lines still without an echo as unconfirmed
	}
}

// echoes is how many sent lines still wait for their echo (a change means
// chat is still arriving).
func (d *driver) echoes() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sent)
}

func (d *driver) result() *Result {
	d.mu.Lock()
	sessions := d.sessions
	events := map[string]uint64{}
	for k, v := range d.events {
		events[k] = v
	}
	failures := map[string]uint64{}
	for k, v := range d.failures {
		failures[k] = v
	}
	unconfirmed := d.unacked + uint64(len(d.sent))
	present := len(d.final)
	d.mu.Unlock()
	eo := check(sessions)
	eo.Unconfirmed = unconfirmed
	eo.SeqGaps, eo.SeqRepeats = events["relay_seq_gap"], events["relay_seq_duplicate"]
	eo.SessionsPresentAtEnd = present
	eo.OK = eo.OK && eo.SeqGaps == 0 && eo.SeqRepeats == 0
	rooms := map[*roomLedger]struct{}{}
	for _, s := range sessions {
		rooms[s.room] = struct{}{}
	}
	for r := range rooms {
		r.mu.Lock()
		eo.Confirmed += uint64(len(r.lines))
		r.mu.Unlock()
	}
	return &Result{
		Config: d.cfg, Joins: d.joins.Load(), JoinFailures: failures, Leaves: d.leaves.Load(),
		RoomsOpened: d.roomsOpened.Load(), RoomsEnded: d.roomsEnded.Load(), MovesSent: d.moves.Load(),
		ChatsSent: d.chats.Load(), StatesSent: d.states.Load(), SendErrors: d.sendErrs.Load(),
		Events: events, ExactlyOnce: eo,
	}
}
