package relay

import (
	"testing"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

func TestJoinWelcomeSnapshotPresence(t *testing.T) {
	e := startRelay(t, nil)
	a, wa := e.join("room-1", "alice")
	if wa.MemberId != 1 || wa.Snapshot.RoomId != "room-1" || wa.Snapshot.WorldId != "world-1" || len(wa.Snapshot.Members) != 1 || wa.Snapshot.Sequence != 1 {
		t.Fatalf("welcome %+v snapshot %+v", wa, wa.Snapshot)
	}
	if wa.TickRateHz != 50 || wa.Limits.MaxFrameBytes != 16384 || wa.Limits.MaxChatBytes != 512 || wa.ServerTimeMs == 0 || wa.SessionId == "" || wa.ProtocolVersion != 1 {
		t.Fatalf("welcome fields %+v limits %+v", wa, wa.Limits)
	}
	b, wb := e.join("room-1", "bob")
	if len(wb.Snapshot.Members) != 2 || wb.Snapshot.Members[0].UserId != "alice" || wb.Snapshot.Members[1].DisplayName != "Name bob" || wb.Snapshot.Sequence != 2 {
		t.Fatalf("bob's snapshot %+v", wb.Snapshot)
	}
	mj := a.expect(protocol.MessageMemberJoined).(*protocol.MemberJoinedT)
	if mj.Member.UserId != "bob" || mj.Member.MemberId != wb.MemberId || mj.Sequence != 2 {
		t.Fatalf("member joined %+v", mj)
	}
	_ = b.c.CloseNow()
	ml := a.expect(protocol.MessageMemberLeft).(*protocol.MemberLeftT)
	if ml.UserId != "bob" || ml.Reason != common.LeaveReasonDisconnected || ml.Sequence != 3 {
		t.Fatalf("member left %+v", ml)
	}
}
