package relay

import (
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// expectNoticeThenClose checks that c's last frame is a DisconnectNotice
// for code (with rejoin and the room) and that the close carries code.
func (c *client) expectNoticeThenClose(code common.CloseCode, rejoin bool, room string) *protocol.DisconnectNoticeT {
	c.t.Helper()
	var last *protocol.EnvelopeT
	for {
		env, err := c.read(8 * time.Second)
		if err != nil {
			break
		}
		last = env
	}
	if last == nil || last.Message.Type != protocol.MessageDisconnectNotice {
		c.t.Fatalf("last frame before the close is %+v, want a DisconnectNotice", last)
	}
	dn := last.Message.Value.(*protocol.DisconnectNoticeT)
	if dn.CloseCode != code || dn.Resume == nil || dn.Resume.Rejoin != rejoin || dn.Resume.RoomId != room {
		c.t.Fatalf("notice %+v resume %+v, want code %s rejoin %v room %s", dn, dn.Resume, code, rejoin, room)
	}
	return dn
}

// Every close the relay starts on a joined session (kick, ban, room close,
// drain, replaced, idle ...) is preceded by a DisconnectNotice with the
// same code, and a ban closes with 4108 Banned. Before the fix kick, ban
// and room close sent none, and a ban closed with 4107.
func TestServerClosesSendANoticeFirst(t *testing.T) {
	e := startRelay(t, nil)
	ctx := t.Context()
	a, _ := e.join("room-n", "alice")
	b, _ := e.join("room-n", "bob")
	c, _ := e.join("room-n", "carol")
	if n, err := e.srv.Hub.Kick(ctx, "room-n", "alice", "be nice"); n != 1 || err != nil {
		t.Fatalf("kick %d %v", n, err)
	}
	if dn := a.expectNoticeThenClose(common.CloseCodeKicked, false, "room-n"); dn.Reason != "be nice" {
		t.Fatalf("%+v", dn)
	}
	if n, err := e.srv.Hub.Ban(ctx, "room-n", "bob", "banned: cheating"); n != 1 || err != nil {
		t.Fatalf("ban %d %v", n, err)
	}
	b.expectNoticeThenClose(common.CloseCodeBanned, false, "room-n")
	if _, err := e.srv.Hub.CloseRoom(ctx, "room-n", ""); err != nil {
		t.Fatal(err)
	}
	c.expectNoticeThenClose(common.CloseCodeRoomClosed, true, "room-n")
	if got := e.counter("closes", "4108"); got != 1 {
		t.Fatalf("4108 closes %v", got)
	}
}

// A Kick command that enforces a ban (the control plane's ban) closes with
// 4108.
func TestBanCommandClosesBanned(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-nb", "alice")
	ack := e.command(coord.Command{ID: "b1", Kind: coord.CommandKick, RoomID: "room-nb", UserID: "alice", Reason: "banned: spam", Banned: true})
	if !ack.OK {
		t.Fatalf("ack %+v", ack)
	}
	a.expectNoticeThenClose(common.CloseCodeBanned, false, "room-nb")
}
