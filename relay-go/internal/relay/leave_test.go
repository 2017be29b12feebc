package relay

import (
	"testing"

	"github.com/coder/websocket"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

// expectLeft reads c's frames up to the MemberLeft of user and checks its
// reason.
func (c *client) expectLeft(user string, reason common.LeaveReason) {
	c.t.Helper()
	for {
		ml := c.expect(protocol.MessageMemberLeft).(*protocol.MemberLeftT)
		if ml.UserId != user {
			continue
		}
		if ml.Reason != reason {
			c.t.Fatalf("%s left with %s, want %s", user, ml.Reason, reason)
		}
		return
	}
}

// A client's Leave removes its member at once (the others see
// MemberLeft{Left}) and the relay closes the connection with 1000. Before
// the fix Leave did not exist (UnknownMessage) and nobody ever left with
// Left.
func TestLeaveMessage(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-l", "alice")
	b, _ := e.join("room-l", "bob")
	a.expect(protocol.MessageMemberJoined)
	a.send(a.enc.Leave())
	b.expectLeft("alice", common.LeaveReasonLeft)
	a.expectClose(common.CloseCodeNormal)
	if got := e.counter("closes", "1000"); got != 1 {
		t.Fatalf("1000 closes %v", got)
	}
}

// How a connection ends says how its member left: a close frame with 1000
// or 1001 is Left; a connection dropped without one is Disconnected.
func TestClientCloseCodeIsTheLeaveReason(t *testing.T) {
	e := startRelay(t, nil)
	obs, _ := e.join("room-lc", "observer")
	cases := []struct {
		description string
		user        string
		end         func(c *client)
		want        common.LeaveReason
	}{
		{"normal close (1000)", "u1000", func(c *client) { _ = c.c.Close(websocket.StatusNormalClosure, "bye") }, common.LeaveReasonLeft},
		{"going away (1001), e.g. a browser tab closing", "u1001", func(c *client) { _ = c.c.Close(websocket.StatusGoingAway, "") }, common.LeaveReasonLeft},
		{"another code (4000)", "u4000", func(c *client) { _ = c.c.Close(websocket.StatusCode(4000), "") }, common.LeaveReasonDisconnected},
		{"dropped without a close frame", "udrop", func(c *client) { _ = c.c.CloseNow() }, common.LeaveReasonDisconnected},
	}
	for _, tc := range cases {
		c, _ := e.join("room-lc", tc.user)
		obs.expect(protocol.MessageMemberJoined)
		tc.end(c)
		for {
			ml := obs.expect(protocol.MessageMemberLeft).(*protocol.MemberLeftT)
			if ml.UserId != tc.user {
				continue
			}
			if ml.Reason != tc.want {
				t.Errorf("%s: MemberLeft{%s}, want %s", tc.description, ml.Reason, tc.want)
			}
			break
		}
	}
}
