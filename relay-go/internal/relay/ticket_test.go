package relay

import (
	"strings"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
)

// Every ticket rejection closes with its own code and is counted by reason.
func TestTicketRejections(t *testing.T) {
	e := startRelay(t, nil)
	e.assign.Restrict("room-ok", "room-other-world")
	forger := tickettest.NewSigner("k1") // same kid, different key
	now := time.Now()
	replayed := e.ticket("room-ok", "replayer", nil)
	first := e.dial()
	first.send(first.enc.Hello(replayed, "x", 1))
	first.expect(protocol.MessageWelcome)
	// Open room-other-world in world-1 so a ticket naming world-2 is refused.
	ow := e.dial()
	ow.send(ow.enc.Hello(e.ticket("room-other-world", "owner", nil), "x", 1))
	ow.expect(protocol.MessageWelcome)

	cases := []struct {
		name   string
		token  string
		code   common.CloseCode
		reason ticket.Reason
	}{
		{"forged signature", forger.Mint(tickettest.Claims(testRelay, "room-ok", "u")), common.CloseCodeTicketSignature, ticket.ReasonSignature},
		{"expired", e.ticket("room-ok", "u", func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), common.CloseCodeTicketExpired, ticket.ReasonExpired},
		{"wrong audience", e.ticket("room-ok", "u", func(c map[string]any) { c["aud"] = "relay-elsewhere" }), common.CloseCodeTicketWrongRelay, ticket.ReasonWrongRelay},
		{"room not assigned here", e.ticket("room-unassigned", "u", nil), common.CloseCodeTicketWrongRoom, ticket.ReasonWrongRoom},
		{"room of another world", e.ticket("room-other-world", "u", func(c map[string]any) { c["world"] = "world-2" }), common.CloseCodeTicketWrongRoom, ticket.ReasonWrongRoom},
		{"replayed jti", replayed, common.CloseCodeTicketReplayed, ticket.ReasonReplayed},
		{"unknown kid", e.signer.MintHeader(map[string]any{"alg": "EdDSA", "kid": "k9"}, tickettest.Claims(testRelay, "room-ok", "u")), common.CloseCodeTicketUnknownKey, ticket.ReasonUnknownKey},
		{"malformed", "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.sig", common.CloseCodeTicketMalformed, ticket.ReasonMalformed},
		{"alg none", e.signer.MintHeader(map[string]any{"alg": "none", "kid": "k1"}, tickettest.Claims(testRelay, "room-ok", "u")), common.CloseCodeTicketMalformed, ticket.ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.counter("ticket_rejections", string(c.reason))
			cl := e.dial()
			cl.send(cl.enc.Hello(c.token, "x", 1))
			reason := cl.expectClose(c.code)
			if !strings.Contains(reason, "ticket") && c.code != common.CloseCodeTicketWrongRoom {
				t.Fatalf("close reason %q", reason)
			}
			if got := e.counter("ticket_rejections", string(c.reason)); got != before+1 {
				t.Fatalf("rejections[%s] = %v, want %v", c.reason, got, before+1)
			}
		})
	}
}

func TestRoomCapacityAndReplaced(t *testing.T) {
	e := startRelay(t, nil)
	if _, err := e.srv.Hub.ReloadConfig(t.Context(), func() (c coord.WorldConfig) {
		c = testConfig().World
		c.WorldID, c.Version, c.RoomCapacity = "world-1", 2, 2
		return c
	}()); err != nil {
		t.Fatal(err)
	}
	a, _ := e.join("room-cap", "alice")
	b, _ := e.join("room-cap", "bob")
	a.expect(protocol.MessageMemberJoined)
	c := e.dial()
	c.send(c.enc.Hello(e.ticket("room-cap", "carol", nil), "x", 1))
	c.expectClose(common.CloseCodeRoomFull)
	// Alice joins again from a new connection: the old one is replaced.
	a2, w2 := e.join("room-cap", "alice")
	a.expectClose(common.CloseCodeReplaced)
	ml := b.expect(protocol.MessageMemberLeft).(*protocol.MemberLeftT)
	if ml.UserId != "alice" || ml.Reason != common.LeaveReasonReplaced {
		t.Fatalf("%+v", ml)
	}
	mj := b.expect(protocol.MessageMemberJoined).(*protocol.MemberJoinedT)
	if mj.Member.MemberId != w2.MemberId || len(w2.Snapshot.Members) != 2 {
		t.Fatalf("%+v %+v", mj, w2.Snapshot)
	}
	_ = a2
}
