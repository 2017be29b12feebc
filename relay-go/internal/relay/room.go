package relay

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/interest"
	"github.com/plaza-dev/plaza/relay-go/internal/roomstate"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// Room owns one room's state on one goroutine (run). Others reach it only
// through its inbox (room_input.go: offer, submit, request) and leave; it
// reaches its members only through Session methods that never block
// (pushReliable for frames the flush workers write, the *FromRoom methods
// of room_flush.go for frames it writes itself), so a slow client cannot
// delay its room.
type Room struct {
	// Immutable after newRoom; any goroutine reads them.
	hub   *Hub
	id    string
	world string
	// lifetime is the room lifetime this Room hosts (decision 009): the
	// rlt of the ticket that opened it. Its events and snapshots carry it.
	lifetime uint64
	log      *slog.Logger

	// inbox is written through offer, submit and request and read only by
	// the room goroutine; done is closed when run returns (wait).
	inbox chan roomInput
	done  chan struct{}

	// Departures: leave appends under leaveMu from any goroutine and
	// signals leaveSig; run takes the list.
	leaveMu  sync.Mutex
	leaves   []*Session
	leaveSig chan struct{}

	// Owned by the room goroutine.
	cfg        coord.WorldConfig
	members    []*member
	bySession  map[*Session]*member
	byUser     map[string]*member
	nextMember uint32
	seq        uint64
	tick       uint64
	state      *roomstate.State
	muted      map[string]time.Time // user id -> until; zero time = until unmuted
	enc        *wire.Encoder
	// owned are sessions whose flush this room's pushes own (room_flush.go).
	owned       []*Session
	scratch     [][]byte // frame list reused by flushes
	ticker      *time.Ticker
	ticking     bool
	closing     bool
	closeReason string

	// Tick scratch, reused to keep ticks allocation-light.
	avatars   []wire.Avatar
	interest  []interest.Avatar
	visible   []int
	batch     []wire.Avatar
	cells     map[interest.Cell][]*member
	cellOrder []interest.Cell
}

// member is a session's presence in a room.
type member struct {
	id       uint32
	s        *Session
	userID   string
	name     string
	joinedAt time.Time

	transform  wire.Transform
	clientLow  uint32
	movedNow   bool
	farPending bool
}

func newRoom(h *Hub, id, world string, lifetime uint64, cfg coord.WorldConfig) *Room {
	return &Room{
		hub: h, id: id, world: world, lifetime: lifetime, cfg: cfg,
		log:   h.log.With("room", id, "world", world, "lifetime", lifetime),
		inbox: make(chan roomInput, inboxSize), done: make(chan struct{}), leaveSig: make(chan struct{}, 1),
		bySession: make(map[*Session]*member), byUser: make(map[string]*member),
		state: roomstate.New(), muted: make(map[string]time.Time), enc: wire.NewEncoder(1024),
		cells: make(map[interest.Cell][]*member),
	}
}

// leave tells the room that s is gone; the room removes its member on
// its goroutine, with s's leave reason. Any goroutine; never blocks (it is
// called from the transport's Closed callback).
func (r *Room) leave(s *Session) {
	r.leaveMu.Lock()
	r.leaves = append(r.leaves, s)
	r.leaveMu.Unlock()
	select {
	case r.leaveSig <- struct{}{}:
	default:
	}
}

// wait blocks until the room goroutine has returned. Never on the room's
// own goroutine.
func (r *Room) wait() { <-r.done }

func (r *Room) tickPeriod() time.Duration { return time.Second / time.Duration(r.cfg.TickRateHz) }

// run is the room goroutine.
func (r *Room) run(ctx context.Context) {
	defer close(r.done)
	r.restore(ctx)
	r.ticker = time.NewTicker(r.tickPeriod())
	r.ticker.Stop()
	defer r.ticker.Stop()
	grace := time.NewTimer(r.cfg.EmptyGrace)
	defer grace.Stop()
	for {
		select {
		case in := <-r.inbox:
			r.handle(ctx, in)
			r.handleBurst(ctx)
		case <-r.leaveSig:
			r.drainLeaves(ctx)
		case <-r.ticker.C:
			r.runTick()
		case <-grace.C:
			if len(r.members) == 0 && r.hub.removeRoomIfIdle(r) {
				r.shutdown(ctx, "empty")
				return
			}
			grace.Reset(r.cfg.EmptyGrace)
		case <-ctx.Done():
			r.closeAll(common.CloseCodeGoingAway, "relay stopping", common.LeaveReasonDrained)
			r.flushOwned()
			r.shutdown(context.WithoutCancel(ctx), "relay stopping")
			return
		}
		if r.closing {
			r.flushOwned()
			r.shutdown(ctx, r.closeReason)
			return
		}
		// Keep the ticker running only while someone is in the room, and
		// (re)arm the empty grace when the last member left.
		switch {
		case len(r.members) > 0 && !r.ticking:
			r.ticker.Reset(r.tickPeriod())
			r.ticking = true
		case len(r.members) == 0 && r.ticking:
			r.ticker.Stop()
			r.ticking = false
			grace.Reset(r.cfg.EmptyGrace)
		}
		// Reliable frames wait for the tick only while there is one.
		if !r.ticking || !r.hub.cfg.ReliableWithTick {
			r.flushOwned()
		}
	}
}

// inputBurst bounds how many queued inputs a room handles back to back
// before it looks at its other channels and flushes.
const inputBurst = 64

// handleBurst handles the inputs already waiting in the inbox (up to
// inputBurst), so a burst of chat costs one flush, not one per line.
func (r *Room) handleBurst(ctx context.Context) {
	for i := 0; i < inputBurst && !r.closing; i++ {
		select {
		case in := <-r.inbox:
			r.handle(ctx, in)
		default:
			return
		}
	}
}

// restore loads the persisted state and sequence of the room's lifetime,
// if any; a snapshot of another lifetime is never restored (decision 009).
func (r *Room) restore(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	snap, found, err := r.hub.cfg.States.Load(ctx, r.id, r.lifetime)
	if err != nil {
		r.log.Warn("room state load failed; starting empty", "err", err)
		return
	}
	if !found || snap.RoomLifetime != r.lifetime {
		return
	}
	entries := make([]roomstate.Entry, len(snap.Entries))
	for i, e := range snap.Entries {
		entries[i] = roomstate.Entry{Key: e.Key, Value: e.Value, Version: e.Version, UpdatedBy: e.UpdatedBy}
	}
	// A periodic snapshot (its relay died before a final save) may be
	// behind what that relay sequenced and delivered in its last moments:
	// continue above a gap so no number a client has seen is used again
	// for another event (clients rebuild from the Welcome after a gap).
	seq := snap.Sequence
	if !snap.Final {
		seq += SequenceGapAfterLostState
	}
	// Every state change advanced the sequence, so it bounds every version
	// issued before the snapshot, deleted keys' included: versions go on
	// above it and never repeat within the lifetime.
	r.state.Restore(entries, seq)
	r.seq = seq
}

// SequenceGapAfterLostState is how far a room restored from a periodic (not
// final) snapshot skips its sequence. The relay writes periodic snapshots
// within ~100 ms of a change; no room sequences anywhere near this many
// events in that time (rate limits bound every member's reliable sends).
const SequenceGapAfterLostState = 1 << 20

// shutdown persists state and reports the room closed (RoomClosed), unless
// the relay is draining or stopping. The state is saved only while this
// lifetime of the room is still assigned to this relay: a copy that lost
// its allocation (re-homed while this relay's heartbeat lapsed, or released)
// would overwrite the snapshot its new host writes with older state. An
// assignment check that fails saves anyway (the room is most likely still
// ours, and Redis being away fails the save too).
func (r *Room) shutdown(ctx context.Context, reason string) {
	r.hub.forgetRoom(r)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if ours, err := r.hub.cfg.Assignments.Assigned(sctx, r.id, r.lifetime); err == nil && !ours {
		r.log.Info("room state not saved: its allocation names another relay or lifetime", "sequence", r.seq)
	} else {
		snap := coord.RoomSnapshot{RoomID: r.id, WorldID: r.world, Sequence: r.seq, SavedAt: time.Now(), RelayID: r.hub.cfg.RelayID, RoomLifetime: r.lifetime, Final: true}
		for _, e := range r.state.Snapshot() {
			snap.Entries = append(snap.Entries, coord.StateEntry{Key: e.Key, Value: e.Value, Version: e.Version, UpdatedBy: e.UpdatedBy})
		}
		if err := r.hub.cfg.States.Save(sctx, snap); err != nil {
			r.log.Warn("room state save failed", "err", err)
		}
	}
	if r.hub.Draining() || r.hub.ctx.Err() != nil {
		// Handed over, not closed: a room its relay drains or stops keeps
		// its lifetime and continues, from this snapshot, on the relay the
		// next join picks (decision 009). RoomClosed would end the lifetime
		// (room_release), so none is published.
		r.log.Info("room handed over", "reason", reason, "sequence", r.seq)
		return
	}
	r.publish(coord.Event{Kind: coord.EventRoomClosed, Reason: reason, Sequence: r.seq})
	r.log.Info("room closed", "reason", reason, "sequence", r.seq)
}

func (r *Room) publish(e coord.Event) {
	e.RoomID, e.WorldID, e.RoomLifetime = r.id, r.world, r.lifetime
	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now()
	}
	r.hub.cfg.Events.Publish(context.Background(), e)
	if e.Kind != coord.EventSequenceAdvanced {
		r.hub.metrics.EventsPublished.Inc()
	}
}

func (r *Room) drainLeaves(ctx context.Context) {
	r.leaveMu.Lock()
	leaves := r.leaves
	r.leaves = nil
	r.leaveMu.Unlock()
	for _, s := range leaves {
		if m := r.bySession[s]; m != nil {
			r.remove(m, s.leaveReason())
		}
	}
}

// kick removes userID's member (MemberLeft{Kicked}) and closes its session
// with code (Kicked, or Banned for a ban); it returns 1 if userID was a
// member, else 0.
func (r *Room) kick(userID, reason string, code common.CloseCode) int {
	m := r.byUser[userID]
	if m == nil {
		return 0
	}
	r.remove(m, common.LeaveReasonKicked)
	m.s.closeMember(code, reason, common.LeaveReasonKicked)
	return 1
}

// announce broadcasts an Announcement (sequenced) and returns how many
// members it reached.
func (r *Room) announce(text string) int {
	r.seq++
	f := r.enc.Announcement(text, time.Now().UnixMilli(), r.seq)
	r.broadcast(f, nil)
	r.publish(coord.Event{Kind: coord.EventSequenceAdvanced, Sequence: r.seq})
	return len(r.members)
}

// reconfigure applies a new world config; a changed tick rate takes effect
// at once.
func (r *Room) reconfigure(cfg coord.WorldConfig) {
	old := r.cfg
	r.cfg = cfg
	if r.ticking && old.TickRateHz != cfg.TickRateHz {
		r.ticker.Reset(r.tickPeriod())
	}
	r.log.Info("room config reloaded", "version", cfg.Version)
}

// closeAll removes every member with leave and closes their sessions.
func (r *Room) closeAll(code common.CloseCode, reason string, leave common.LeaveReason) {
	for len(r.members) > 0 {
		m := r.members[len(r.members)-1]
		r.remove(m, leave)
		m.s.closeMember(code, reason, leave)
	}
}

func (r *Room) info(m *member) wire.MemberInfo {
	return wire.MemberInfo{MemberID: m.id, UserID: m.userID, DisplayName: m.name, Transform: m.transform, JoinedAtMs: m.joinedAt.UnixMilli()}
}

// join adds s as the member its claims name, replacing that user's older
// session, and queues its Welcome. A refusal is a *joinError.
func (r *Room) join(s *Session, c *ticket.Claims) (joinResult, error) {
	r.hub.joinArrived(r)
	switch {
	case c.World != r.world:
		return joinResult{}, &joinError{code: common.CloseCodeTicketWrongRoom, msg: "room " + r.id + " belongs to world " + r.world}
	case s.isClosed():
		return joinResult{}, &joinError{code: common.CloseCodeNormal, msg: "connection already closed"}
	}
	if old := r.byUser[c.Subject]; old != nil {
		r.remove(old, common.LeaveReasonReplaced)
		old.s.closeMember(common.CloseCodeReplaced, "the same user joined again", common.LeaveReasonReplaced)
	}
	if len(r.members) >= r.cfg.RoomCapacity {
		return joinResult{}, &joinError{code: common.CloseCodeRoomFull, msg: "room is full"}
	}
	now := time.Now()
	r.muteFromTicket(c, now)
	r.nextMember++
	m := &member{id: r.nextMember, s: s, userID: c.Subject, name: c.Name, joinedAt: now, transform: wire.Transform{Rotation: [4]float32{0, 0, 0, 1}}}
	r.members = append(r.members, m)
	r.bySession[s] = m
	r.byUser[c.Subject] = m
	r.seq++
	r.hub.metrics.Sessions.Inc()
	r.hub.joined.Add(1)

	w := &wire.Welcome{
		SessionID: s.id, MemberID: m.id, ServerTimeMs: now.UnixMilli(), TickRateHz: uint16(r.cfg.TickRateHz),
		InterestRadius: r.cfg.InterestRadius, Limits: r.limits(),
		Snapshot: wire.Snapshot{RoomID: r.id, WorldID: r.world, Sequence: r.seq},
	}
	for _, o := range r.members {
		w.Snapshot.Members = append(w.Snapshot.Members, r.info(o))
	}
	for _, e := range r.state.Snapshot() {
		w.Snapshot.State = append(w.Snapshot.State, wire.StateEntry{Key: e.Key, Value: e.Value, Version: e.Version, UpdatedBy: e.UpdatedBy})
	}
	s.pushReliable(r.enc.Welcome(w))
	info := r.info(m)
	r.broadcast(r.enc.MemberJoined(&info, r.seq), s)
	r.publish(coord.Event{Kind: coord.EventMemberJoined, UserID: m.userID, MemberID: m.id, DisplayName: m.name, SessionID: s.id, Sequence: r.seq})
	return joinResult{memberID: m.id, world: r.cfg}, nil
}

func (r *Room) limits() wire.SessionLimits {
	c := &r.cfg
	return wire.SessionLimits{
		MaxFrameBytes: uint32(r.hub.cfg.MaxFrameBytes), MaxChatBytes: uint16(c.MaxChatBytes),
		MovesPerSecond: float32(c.MovesPerSecond), MoveBurst: uint16(c.MoveBurst),
		ChatsPerSecond: float32(c.ChatsPerSecond), ChatBurst: uint16(c.ChatBurst),
		EmotesPerSecond: float32(c.EmotesPerSecond), EmoteBurst: uint16(c.EmoteBurst),
		StateSetsPerSecond: float32(c.StateSetsPerSecond), StateSetBurst: uint16(c.StateSetBurst),
		MaxStateKeyBytes: uint16(c.MaxStateKeyBytes), MaxStateValueBytes: uint32(c.MaxStateValueBytes), MaxStateKeys: uint16(c.MaxStateKeys),
	}
}

// remove takes m out of the room and tells the others.
func (r *Room) remove(m *member, reason common.LeaveReason) {
	if r.bySession[m.s] != m {
		return
	}
	delete(r.bySession, m.s)
	if r.byUser[m.userID] == m {
		delete(r.byUser, m.userID)
	}
	for i, o := range r.members {
		if o == m {
			copy(r.members[i:], r.members[i+1:])
			r.members[len(r.members)-1] = nil
			r.members = r.members[:len(r.members)-1]
			break
		}
	}
	r.hub.metrics.Sessions.Dec()
	r.hub.joined.Add(-1)
	r.seq++
	r.broadcast(r.enc.MemberLeft(m.id, m.userID, reason, r.seq), nil)
	r.publish(coord.Event{Kind: coord.EventMemberLeft, UserID: m.userID, MemberID: m.id, SessionID: m.s.id, LeaveReason: reason, Duration: time.Since(m.joinedAt), Sequence: r.seq})
}

// broadcast queues a reliable frame for every member except skip. Members
// whose queue overflows are closed as slow consumers and removed after the
// loop (removal broadcasts too).
func (r *Room) broadcast(frame []byte, skip *Session) {
	var slow []*member
	for _, m := range r.members {
		if m.s == skip {
			continue
		}
		if !r.queueReliable(m.s, frame) {
			slow = append(slow, m)
		}
	}
	for _, m := range slow {
		r.remove(m, m.s.leaveReason())
	}
}

// muteFromTicket applies the ticket's mut claim (decision 009: the control
// plane records mutes beyond a room's life and mints them into tickets): a
// mute that ends later than now holds at least until then. A longer mute
// the room already holds (an operator's, or one until unmuted) stays.
func (r *Room) muteFromTicket(c *ticket.Claims, now time.Time) {
	if c.MutedUntil.IsZero() || !c.MutedUntil.After(now) {
		return
	}
	if until, ok := r.muted[c.Subject]; ok && (until.IsZero() || !until.Before(c.MutedUntil)) {
		return
	}
	r.muted[c.Subject] = c.MutedUntil
}

func (r *Room) isMuted(user string, now time.Time) bool {
	until, ok := r.muted[user]
	if !ok {
		return false
	}
	if !until.IsZero() && now.After(until) {
		delete(r.muted, user)
		return false
	}
	return true
}

func (r *Room) chat(in *clientInput) {
	m := r.bySession[in.s]
	if m == nil {
		return
	}
	now := time.Now()
	if r.isMuted(m.userID, now) {
		in.s.sendError(common.ErrorCodeMuted, "you are muted in this room", in.reqID, protocol.MessageChatSend)
		return
	}
	r.seq++
	r.broadcast(r.enc.ChatMessage(r.seq, m.id, m.userID, m.name, in.text, now.UnixMilli(), in.reqID), nil)
	r.publish(coord.Event{Kind: coord.EventChat, OccurredAt: now, UserID: m.userID, MemberID: m.id, DisplayName: m.name, Sequence: r.seq, Text: in.text})
}

func (r *Room) emote(in *clientInput) {
	m := r.bySession[in.s]
	if m == nil {
		return
	}
	r.seq++
	r.broadcast(r.enc.EmotePlayed(r.seq, m.id, in.text, time.Now().UnixMilli(), in.reqID), nil)
	r.publish(coord.Event{Kind: coord.EventSequenceAdvanced, Sequence: r.seq})
}

func (r *Room) setState(in *clientInput) {
	m := r.bySession[in.s]
	if m == nil {
		return
	}
	lim := roomstate.Limits{MaxKeyBytes: r.cfg.MaxStateKeyBytes, MaxValueBytes: r.cfg.MaxStateValueBytes, MaxKeys: r.cfg.MaxStateKeys}
	e, code := r.state.Apply(in.set, m.id, lim)
	if code != common.ErrorCodeUnknown {
		in.s.sendError(code, stateErrorText(code), in.reqID, protocol.MessageStateSet)
		return
	}
	r.seq++
	we := wire.StateEntry{Key: e.Key, Value: e.Value, Version: e.Version, UpdatedBy: e.UpdatedBy}
	r.broadcast(r.enc.StateChanged(r.seq, &we, in.set.Delete, time.Now().UnixMilli(), in.reqID), nil)
	r.publish(coord.Event{Kind: coord.EventStateChanged, MemberID: m.id, UserID: m.userID, Sequence: r.seq, Key: e.Key, Value: e.Value, Version: e.Version, Deleted: in.set.Delete, By: m.id})
}

func stateErrorText(c common.ErrorCode) string {
	switch c {
	case common.ErrorCodeStateKeyInvalid:
		return "state key must be non-empty UTF-8 within the key size limit"
	case common.ErrorCodeStateValueTooLarge:
		return "state value exceeds the value size limit"
	case common.ErrorCodeStateTooManyKeys:
		return "room state holds the most keys allowed"
	case common.ErrorCodeStateVersionConflict:
		return "version does not match (compare-and-set failed or key missing)"
	}
	return common.EnumNamesErrorCode[c]
}
