package main

import (
	"errors"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

func TestAfterClose(t *testing.T) {
	drain := &client.Notice{CloseCode: 4006, Rejoin: true, RetryAfter: 1200 * time.Millisecond, RoomID: "lobby-1"}
	kick := &client.Notice{CloseCode: 4107, Reason: "spam"}
	for _, tc := range []struct {
		description string
		kind        string
		notice      *client.Notice
		want        next
	}{
		{"a drain rejoins the notice's room after its retry_after", "close_4006_Draining", drain, next{room: "lobby-1", hint: 1200 * time.Millisecond}},
		{"a kick stops the bot", "close_4107_Kicked", kick, next{stop: true}},
		{"a ban stops the bot", "close_4108_Banned", &client.Notice{CloseCode: 4108}, next{stop: true}},
		{"abuse (no notice) stops the bot", "close_4106_Abuse", nil, next{stop: true}},
		{"being replaced stops the bot", "close_4109_Replaced", nil, next{stop: true}},
		{"a notice without rejoin stops the bot", "conn_reset", &client.Notice{CloseCode: 4107}, next{stop: true}},
		{"a dropped connection rejoins the same room", "conn_reset", nil, next{room: "lobby-0"}},
		{"a relay stopping without drain rejoins the same room", "close_1001_GoingAway", nil, next{room: "lobby-0"}},
		{"a slow-consumer close rejoins the same room", "close_4004_SlowConsumer", nil, next{room: "lobby-0"}},
		{"a closed room lets the control plane choose", "close_4007_RoomClosed", &client.Notice{CloseCode: 4007, Rejoin: true, RoomID: "lobby-0"}, next{}},
	} {
		got := afterClose(tc.kind, tc.notice, "lobby-0")
		got.why = ""
		if got != tc.want {
			t.Errorf("%s: afterClose(%s) = %+v, want %+v", tc.description, tc.kind, got, tc.want)
		}
	}
}

func TestAfterJoinError(t *testing.T) {
	je := func(kind string) error { return &client.JoinError{Kind: kind, Err: errors.New("x")} }
	for _, tc := range []struct {
		description string
		err         error
		want        next
	}{
		{"banned at sign-in stops the bot", je("signin_http_403"), next{stop: true}},
		{"banned at join stops the bot", je("join_http_403"), next{stop: true}},
		{"a gone room is forgotten", je("join_http_404"), next{}},
		{"a full room is forgotten", je("join_http_409"), next{}},
		{"a ticket for a room now elsewhere is forgotten", je("close_4104_TicketWrongRoom"), next{}},
		{"a bad signature stops the bot", je("close_4102_TicketSignature"), next{stop: true}},
		{"no relay yet keeps the room", je("join_http_503"), next{room: "lobby-0"}},
		{"a paced 503 keeps the room and the server's hint", &client.JoinError{Kind: "join_http_503", Status: 503, RetryAfter: 1200 * time.Millisecond}, next{room: "lobby-0", hint: 1200 * time.Millisecond}},
		{"an unreachable relay keeps the room", je("dial"), next{room: "lobby-0"}},
		{"an unkinded error keeps the room", errors.New("boom"), next{room: "lobby-0"}},
	} {
		got := afterJoinError(tc.err, "lobby-0")
		got.why = ""
		if got != tc.want {
			t.Errorf("%s: afterJoinError(%v) = %+v, want %+v", tc.description, tc.err, got, tc.want)
		}
	}
}
