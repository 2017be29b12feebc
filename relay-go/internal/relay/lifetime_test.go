package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// Decision 009 on the memory seams: room lifetimes on the Hello path, the
// periodic re-check, lifetimes on events and snapshots, mutes from tickets.
// internal/redisbridge/lifetime_test.go runs the same rules over Redis.

// lifetimeTicket is a ticket for user in room at lifetime rlt.
func (e *testRelayEnv) lifetimeTicket(room, user string, rlt uint64) string {
	return e.ticket(room, user, func(c map[string]any) { c["rlt"] = rlt })
}

func (e *testRelayEnv) hello(token string) *client {
	e.t.Helper()
	c := e.dial()
	c.send(c.enc.Hello(token, "go/test", 1))
	return c
}

func TestLifetimeOnTheHelloPath(t *testing.T) {
	e := startRelay(t, nil)
	e.assign.Assign("room-l", 1)
	stale := e.lifetimeTicket("room-l", "late", 1)
	a := e.hello(e.lifetimeTicket("room-l", "alice", 1))
	a.expect(protocol.MessageWelcome)
	a.send(a.enc.ChatSend("one", 1))
	a.expect(protocol.MessageChatMessage)

	// Released: a ticket of lifetime 1 no longer opens anything.
	e.assign.Release("room-l")
	if _, err := e.srv.Hub.CloseRoom(t.Context(), "room-l", "closed"); err != nil {
		t.Fatal(err)
	}
	a.expectClose(common.CloseCodeRoomClosed)
	before := e.counter("ticket_rejections", string(ticket.ReasonWrongRoom))
	e.hello(stale).expectClose(common.CloseCodeTicketWrongRoom)
	if got := e.counter("ticket_rejections", string(ticket.ReasonWrongRoom)); got != before+1 {
		t.Fatalf("wrong_room rejections %v, want %v", got, before+1)
	}
	if _, rooms := e.srv.Hub.Counts(); rooms != 0 {
		t.Fatalf("%d rooms after a stale ticket", rooms)
	}

	// Lifetime 2 on this relay; lifetime 3 replaces it while a member is in.
	e.assign.Assign("room-l", 2)
	b := e.hello(e.lifetimeTicket("room-l", "bob", 2))
	if w := b.expect(protocol.MessageWelcome).(*protocol.WelcomeT); w.Snapshot.Sequence != 1 {
		t.Fatalf("lifetime 2 starts at sequence %d", w.Snapshot.Sequence)
	}
	e.assign.Assign("room-l", 3)
	c := e.hello(e.lifetimeTicket("room-l", "carol", 3))
	c.expect(protocol.MessageWelcome)
	b.expectClose(common.CloseCodeRoomClosed)
	e.hello(e.lifetimeTicket("room-l", "dave", 2)).expectClose(common.CloseCodeTicketWrongRoom)

	// Every event a room published carries its lifetime.
	seen := map[uint64]bool{}
	for _, ev := range e.events.Events() {
		if ev.RoomID != "room-l" {
			continue
		}
		if ev.RoomLifetime < 1 || ev.RoomLifetime > 3 {
			t.Fatalf("event %+v: lifetime %d", ev, ev.RoomLifetime)
		}
		seen[ev.RoomLifetime] = true
	}
	if !seen[1] || !seen[2] || !seen[3] {
		t.Fatalf("lifetimes seen on events: %v", seen)
	}
}

// A snapshot is restored only into the lifetime that wrote it.
func TestSnapshotRestoredOnlyIntoItsLifetime(t *testing.T) {
	e := startRelay(t, nil)
	_ = e.states.Save(t.Context(), coord.RoomSnapshot{RoomID: "room-s", WorldID: "world-1", RoomLifetime: 4, Sequence: 40,
		Entries: []coord.StateEntry{{Key: "door", Value: []byte("open"), Version: 3}}})
	e.assign.Assign("room-s", 5)
	w := e.hello(e.lifetimeTicket("room-s", "alice", 5)).expect(protocol.MessageWelcome).(*protocol.WelcomeT)
	if len(w.Snapshot.State) != 0 || w.Snapshot.Sequence != 1 {
		t.Fatalf("lifetime 5 opened with lifetime 4's state: %+v", w.Snapshot)
	}
	_ = e.states.Save(t.Context(), coord.RoomSnapshot{RoomID: "room-r", WorldID: "world-1", RoomLifetime: 4, Sequence: 40, Final: true,
		Entries: []coord.StateEntry{{Key: "door", Value: []byte("open"), Version: 3}}})
	e.assign.Assign("room-r", 4) // a re-homed room keeps its lifetime
	w = e.hello(e.lifetimeTicket("room-r", "bob", 4)).expect(protocol.MessageWelcome).(*protocol.WelcomeT)
	if len(w.Snapshot.State) != 1 || w.Snapshot.Sequence != 41 {
		t.Fatalf("re-homed lifetime 4 did not restore its state: %+v", w.Snapshot)
	}
}

// A periodic snapshot (its relay died before the final save) may be behind
// the sequence that relay delivered: the room continues above a gap, so no
// sequence number is given to a second event.
func TestRestoreFromAPeriodicSnapshotSkipsTheSequence(t *testing.T) {
	e := startRelay(t, nil)
	_ = e.states.Save(t.Context(), coord.RoomSnapshot{RoomID: "room-p", WorldID: "world-1", RoomLifetime: 2, Sequence: 40,
		Entries: []coord.StateEntry{{Key: "door", Value: []byte("open"), Version: 3}}})
	e.assign.Assign("room-p", 2)
	c := e.hello(e.lifetimeTicket("room-p", "carol", 2))
	w := c.expect(protocol.MessageWelcome).(*protocol.WelcomeT)
	if len(w.Snapshot.State) != 1 || w.Snapshot.Sequence != 40+SequenceGapAfterLostState+1 {
		t.Fatalf("a periodic snapshot restored without the gap: %+v", w.Snapshot)
	}
	c.send(c.enc.StateSet(&wire.StateSet{Key: "lamp", Value: []byte("on"), RequestID: 7}))
	ch := c.expect(protocol.MessageStateChanged).(*protocol.StateChangedT)
	if ch.Entry.Version <= 40+SequenceGapAfterLostState || ch.Sequence != w.Snapshot.Sequence+1 {
		t.Fatalf("versions or sequence not above the gap: %+v", ch)
	}
}

func TestAssignmentRecheckClosesReleasedRoom(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.AssignmentCheckInterval = 50 * time.Millisecond })
	e.assign.Assign("room-a", 1)
	e.assign.Assign("room-b", 1)
	a := e.hello(e.lifetimeTicket("room-a", "alice", 1))
	a.expect(protocol.MessageWelcome)
	b := e.hello(e.lifetimeTicket("room-b", "bob", 1))
	b.expect(protocol.MessageWelcome)
	e.assign.Release("room-a") // the CloseRoom command was lost
	a.expectClose(common.CloseCodeRoomClosed)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, ok := e.events.Wait(ctx, func(ev coord.Event) bool {
		return ev.Kind == coord.EventRoomClosed && ev.RoomID == "room-a" && ev.RoomLifetime == 1
	}); !ok {
		t.Fatal("no RoomClosed event for the released room")
	}
	time.Sleep(200 * time.Millisecond)
	b.send(b.enc.ChatSend("still open", 1))
	b.expect(protocol.MessageChatMessage)
}

// A copy of a room that lost its allocation (the room was re-homed while
// this relay was away) must not overwrite its new host's snapshot when it
// closes.
func TestLostRoomDoesNotOverwriteTheNewHostsSnapshot(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.AssignmentCheckInterval = 50 * time.Millisecond })
	e.assign.Assign("room-m", 3)
	a := e.hello(e.lifetimeTicket("room-m", "alice", 3))
	a.expect(protocol.MessageWelcome)
	a.send(a.enc.ChatSend("on the old host", 1))
	a.expect(protocol.MessageChatMessage)
	// The new host took the room over at the same lifetime and saved newer
	// state; here the allocation now names another relay.
	newer := coord.RoomSnapshot{RoomID: "room-m", WorldID: "world-1", RoomLifetime: 3, Sequence: 90, RelayID: "relay-new",
		Entries: []coord.StateEntry{{Key: "door", Value: []byte("new host"), Version: 88}}}
	_ = e.states.Save(t.Context(), newer)
	e.assign.Release("room-m")
	a.expectClose(common.CloseCodeRoomClosed)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, ok := e.events.Wait(ctx, func(ev coord.Event) bool {
		return ev.Kind == coord.EventRoomClosed && ev.RoomID == "room-m"
	}); !ok {
		t.Fatal("no RoomClosed event for the lost room")
	}
	snap, found, _ := e.states.Load(t.Context(), "room-m", 3)
	if !found || snap.RelayID != "relay-new" || snap.Sequence != 90 || len(snap.Entries) != 1 {
		t.Fatalf("the old copy overwrote the new host's snapshot: %+v found %v", snap, found)
	}
}

// The ticket's mut claim mutes the member on join (decision 009: mutes
// outlive their room); a mute that already ended does not.
func TestMuteFromTicket(t *testing.T) {
	e := startRelay(t, nil)
	a := e.hello(e.ticket("room-m", "alice", func(c map[string]any) { c["mut"] = time.Now().Add(time.Hour).UnixMilli() }))
	a.expect(protocol.MessageWelcome)
	a.send(a.enc.ChatSend("hello?", 7))
	if er := a.expectError(common.ErrorCodeMuted); er.RequestId != 7 {
		t.Fatalf("%+v", er)
	}
	b := e.hello(e.ticket("room-m", "bob", func(c map[string]any) { c["mut"] = time.Now().Add(-time.Second).UnixMilli() }))
	b.expect(protocol.MessageWelcome)
	b.send(b.enc.ChatSend("hi", 8))
	b.expect(protocol.MessageChatMessage)
	// A ticket's shorter mute never shortens an operator's open-ended one.
	if _, err := e.srv.Hub.Mute(t.Context(), "room-m", "carol", 0); err != nil {
		t.Fatal(err)
	}
	c := e.hello(e.ticket("room-m", "carol", func(c map[string]any) { c["mut"] = time.Now().Add(50 * time.Millisecond).UnixMilli() }))
	c.expect(protocol.MessageWelcome)
	time.Sleep(100 * time.Millisecond)
	c.send(c.enc.ChatSend("now?", 9))
	c.expectError(common.ErrorCodeMuted)
}

// brokenAssignments is an Assignments whose store is away.
type brokenAssignments struct{}

func (brokenAssignments) Assigned(context.Context, string, uint64) (bool, error) {
	return false, errors.New("connection refused")
}
func (brokenAssignments) AssignedAll(context.Context, []coord.RoomLifetime) ([]bool, error) {
	return nil, errors.New("connection refused")
}

// Fail closed: an assignment check that cannot be made refuses the ticket
// with 4009 (retryable) and opens nothing.
func TestAssignmentErrorRefusesWithServerOverloaded(t *testing.T) {
	signer := tickettest.NewSigner("k1")
	cfg := testConfig()
	srv, err := New(cfg, Seams{Assignments: brokenAssignments{}, Keys: ticket.StaticKeys{signer.Kid: signer.Pub}}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for srv.Addr() == "" {
		time.Sleep(5 * time.Millisecond)
	}
	c, err := dialOpts(t, "ws://"+srv.Addr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(c.enc.Hello(signer.Mint(tickettest.Claims(testRelay, "room-x", "u")), "go/test", 1))
	c.expectClose(common.CloseCodeServerOverloaded)
	if _, rooms := srv.Hub.Counts(); rooms != 0 {
		t.Fatalf("%d rooms opened unchecked", rooms)
	}
}

// A drained relay hands its rooms over: it saves their state with their
// lifetime and publishes no RoomClosed (which would end the lifetime in the
// control plane), so the room continues on the next relay (decision 009).
func TestDrainHandsRoomsOverWithoutRoomClosed(t *testing.T) {
	e := startRelay(t, nil)
	e.assign.Assign("room-h", 6)
	a := e.hello(e.lifetimeTicket("room-h", "alice", 6))
	a.expect(protocol.MessageWelcome)
	if err := e.srv.Hub.Drain(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	a.expectClose(common.CloseCodeDraining)
	// The room saves its state as it shuts down, which may come just after
	// the member saw its close.
	var snap coord.RoomSnapshot
	found := false
	for deadline := time.Now().Add(5 * time.Second); !found && time.Now().Before(deadline); {
		if snap, found, _ = e.states.Load(t.Context(), "room-h", 6); !found {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !found || snap.RoomLifetime != 6 || snap.Sequence < 2 {
		t.Fatalf("saved %+v found %v", snap, found)
	}
	for _, ev := range e.events.Events() {
		if ev.Kind == coord.EventRoomClosed && ev.RoomID == "room-h" {
			t.Fatalf("drain published %+v", ev)
		}
	}
}
