package relay

import (
	"context"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// send runs a command through the CommandSource seam and waits for its ack.
func (e *testRelayEnv) command(c coord.Command) coord.Event {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.commands.Send(ctx, c); err != nil {
		e.t.Fatal(err)
	}
	ack, ok := e.events.Wait(ctx, func(ev coord.Event) bool { return ev.Kind == coord.EventCommandAck && ev.CommandID == c.ID })
	if !ok {
		e.t.Fatalf("no ack for %s", c.ID)
	}
	return ack
}

func TestCommandKick(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-k", "alice")
	b, _ := e.join("room-k", "bob")
	a.expect(protocol.MessageMemberJoined)
	ack := e.command(coord.Command{ID: "k1", Kind: coord.CommandKick, RoomID: "room-k", UserID: "bob", Reason: "be nice"})
	if !ack.OK || ack.Detail != "kick affected 1" {
		t.Fatalf("ack %+v", ack)
	}
	if reason := b.expectClose(common.CloseCodeKicked); reason != "be nice" {
		t.Fatalf("reason %q", reason)
	}
	if ml := a.expect(protocol.MessageMemberLeft).(*protocol.MemberLeftT); ml.Reason != common.LeaveReasonKicked || ml.UserId != "bob" {
		t.Fatalf("%+v", ml)
	}
}

func TestCommandCloseRoomAndAnnounce(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-x", "alice")
	o, _ := e.join("room-y", "olga")
	ack := e.command(coord.Command{ID: "a1", Kind: coord.CommandAnnounce, Scope: coord.ScopeEveryone, Text: "maintenance soon"})
	if !ack.OK {
		t.Fatalf("%+v", ack)
	}
	for _, c := range []*client{a, o} {
		an := c.expect(protocol.MessageAnnouncement).(*protocol.AnnouncementT)
		if an.Text != "maintenance soon" || an.Sequence != 2 {
			t.Fatalf("%+v", an)
		}
	}
	e.command(coord.Command{ID: "a2", Kind: coord.CommandAnnounce, Scope: coord.ScopeRoom, RoomID: "room-y", Text: "only y"})
	if an := o.expect(protocol.MessageAnnouncement).(*protocol.AnnouncementT); an.Text != "only y" {
		t.Fatalf("%+v", an)
	}
	ack = e.command(coord.Command{ID: "c1", Kind: coord.CommandCloseRoom, RoomID: "room-x", Reason: "closed for cleaning"})
	if !ack.OK {
		t.Fatalf("%+v", ack)
	}
	a.expectClose(common.CloseCodeRoomClosed)
	ev, ok := e.events.Wait(t.Context(), func(ev coord.Event) bool { return ev.Kind == coord.EventRoomClosed && ev.RoomID == "room-x" })
	if !ok || ev.Sequence != 3 || ev.Reason != "closed for cleaning" {
		t.Fatalf("room closed event %+v", ev)
	}
	if ack := e.command(coord.Command{ID: "c2", Kind: coord.CommandCloseRoom, RoomID: "nope"}); ack.OK {
		t.Fatal("closing an unknown room succeeded")
	}
}

func TestCommandReloadConfig(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-r", "alice")
	cfg := testConfig().World
	cfg.WorldID, cfg.Version, cfg.MaxStateKeys = "world-1", 5, 0
	if ack := e.command(coord.Command{ID: "r1", Kind: coord.CommandReloadConfig, Config: cfg}); !ack.OK || ack.Detail != "reload_config affected 1" {
		t.Fatalf("%+v", ack)
	}
	a.send(a.enc.StateSet(&wire.StateSet{Key: "k", RequestID: 1}))
	a.expectError(common.ErrorCodeStateTooManyKeys)
	// An older version is ignored.
	cfg.Version, cfg.MaxStateKeys = 4, 100
	if ack := e.command(coord.Command{ID: "r2", Kind: coord.CommandReloadConfig, Config: cfg}); ack.Detail != "reload_config affected 0" {
		t.Fatalf("%+v", ack)
	}
	bad := cfg
	bad.Version, bad.TickRateHz = 9, 0
	if ack := e.command(coord.Command{ID: "r3", Kind: coord.CommandReloadConfig, Config: bad}); ack.OK {
		t.Fatal("invalid config accepted")
	}
}

func TestRoomClosesWhenEmptyAndRestoresState(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.World.EmptyGrace = 150 * time.Millisecond })
	a, _ := e.join("room-e", "alice")
	a.send(a.enc.StateSet(&wire.StateSet{Key: "k", Value: []byte("v"), RequestID: 1}))
	a.expect(protocol.MessageStateChanged)
	_ = a.c.CloseNow()
	ev, ok := e.events.Wait(t.Context(), func(ev coord.Event) bool { return ev.Kind == coord.EventRoomClosed && ev.RoomID == "room-e" })
	if !ok || ev.Reason != "empty" || ev.Sequence != 3 {
		t.Fatalf("%+v", ev)
	}
	if _, rooms := e.srv.Hub.Counts(); rooms != 0 {
		t.Fatalf("%d rooms open", rooms)
	}
	// A new instance of the room continues state and sequence.
	_, w := e.join("room-e", "bob")
	if len(w.Snapshot.State) != 1 || w.Snapshot.State[0].Version != 1 || w.Snapshot.Sequence != 4 {
		t.Fatalf("restored snapshot %+v", w.Snapshot)
	}
	// The event is published right after the Welcome is queued.
	if _, ok := e.events.Wait(t.Context(), func(ev coord.Event) bool { return ev.Kind == coord.EventMemberJoined && ev.UserID == "bob" }); !ok {
		t.Fatal("no joined event for bob")
	}
	var kinds []coord.EventKind
	for _, ev := range e.events.Events() {
		if ev.RoomID == "room-e" {
			kinds = append(kinds, ev.Kind)
		}
	}
	want := []coord.EventKind{coord.EventMemberJoined, coord.EventStateChanged, coord.EventMemberLeft, coord.EventRoomClosed, coord.EventMemberJoined}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v, want %v", kinds, want)
		}
	}
}
