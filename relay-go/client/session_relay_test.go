package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// roomEvents records the typed reliable events a session sees.
type roomEvents struct {
	client.NopHandler
	emotes chan string
	states chan string
}

func (r *roomEvents) Emote(_ uint32, e string, _ uint64) { r.emotes <- e }
func (r *roomEvents) StateChanged(key string, value []byte, _ uint64, deleted bool, _ uint64) {
	if deleted {
		r.states <- key + " deleted"
		return
	}
	r.states <- key + "=" + string(value)
}

// Emote and SetState reach the relay and come back to every member as
// typed events (RoomHandler), against a real relay.
func TestSessionEmoteAndStateAgainstRelay(t *testing.T) {
	r := mustStartRelay(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := &roomEvents{emotes: make(chan string, 4), states: make(chan string, 4)}
	s, err := client.Dial(ctx, r.url, r.ticket("room-e", "u1"), client.DialOptions{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.MemberID() == 0 || s.TickRateHz() != 50 || len(s.Members()) != 1 || s.ConnectTime() <= 0 {
		t.Fatalf("welcome: member %d tick %d members %v connect %s", s.MemberID(), s.TickRateHz(), s.Members(), s.ConnectTime())
	}
	if err := s.Emote("wave", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetState(&client.StateSet{Key: "door", Value: []byte("open"), RequestID: 2}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		ch   chan string
		want string
	}{{h.emotes, "wave"}, {h.states, "door=open"}} {
		select {
		case got := <-want.ch:
			if got != want.want {
				t.Fatalf("got %q, want %q", got, want.want)
			}
		case <-ctx.Done():
			t.Fatalf("no %q from the relay", want.want)
		}
	}
}

// A refused ticket is a *JoinError named after the close code: a replayed
// ticket is close_4003 (40xx: get a new ticket, what JoinWorld retries), a
// malformed one close_4101 (41xx: do not retry).
func TestDialRefusedTicketIsJoinError(t *testing.T) {
	r := mustStartRelay(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tk := r.ticket("room-r", "u1")
	s, err := client.Dial(ctx, r.url, tk, client.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct{ ticket, kind string }{{tk, "close_4003_TicketReplayed"}, {"not-a-ticket", "close_4101_TicketMalformed"}} {
		_, err := client.Dial(ctx, r.url, c.ticket, client.DialOptions{})
		var je *client.JoinError
		if !errors.As(err, &je) || je.Kind != c.kind {
			t.Errorf("err %v, want a JoinError of kind %s", err, c.kind)
		}
	}
}

// leaves records the members a session sees leave.
type leaves struct {
	client.NopHandler
	left   chan string
	closed chan string
}

func (l *leaves) MemberLeft(_ uint32, user string, _ uint64) { l.left <- user }
func (l *leaves) Closed(kind string)                         { l.closed <- kind }

// Leave removes the member from the room for the others, and its own
// Handler sees no Closed.
func TestSessionLeaveAgainstRelay(t *testing.T) {
	r := mustStartRelay(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ha := &leaves{left: make(chan string, 4), closed: make(chan string, 4)}
	hb := &leaves{left: make(chan string, 4), closed: make(chan string, 4)}
	a, err := client.Dial(ctx, r.url, r.ticket("room-lv", "u1"), client.DialOptions{Handler: ha})
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Dial(ctx, r.url, r.ticket("room-lv", "u2"), client.DialOptions{Handler: hb})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Leave(); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-hb.left:
		if u != "u1" {
			t.Fatalf("%s left, want u1", u)
		}
	case <-ctx.Done():
		t.Fatal("no MemberLeft after Leave")
	}
	select {
	case k := <-ha.closed:
		t.Fatalf("the leaving session's Handler saw Closed(%s)", k)
	case <-time.After(300 * time.Millisecond):
	}
}

// notices records the DisconnectNotice and the close of a session.
type notices struct {
	client.NopHandler
	notice chan client.Notice
	closed chan string
}

func (n *notices) DisconnectNotice(x client.Notice) { n.notice <- x }
func (n *notices) Closed(kind string)               { n.closed <- kind }

// A draining relay tells the session where to resume (NoticeHandler), then
// closes it with 4006, which is not terminal: the client rejoins the room.
func TestDrainNoticeSaysRejoinTheRoom(t *testing.T) {
	r, err := startRelay()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h := &notices{notice: make(chan client.Notice, 1), closed: make(chan string, 1)}
	s, err := client.Dial(ctx, r.url, r.ticket("room-d", "u1"), client.DialOptions{Handler: h})
	if err != nil {
		r.stop()
		t.Fatal(err)
	}
	if s.SessionID() == "" || s.RoomID() != "room-d" || s.RelayURL() != r.url {
		t.Errorf("session %q room %q url %q", s.SessionID(), s.RoomID(), s.RelayURL())
	}
	go r.stop() // cancelling Run drains the relay
	select {
	case n := <-h.notice:
		if n.CloseCode != 4006 || !n.Rejoin || n.RoomID != "room-d" || n.RetryAfter <= 0 {
			t.Errorf("notice %+v, want 4006, rejoin room-d after a delay", n)
		}
	case <-ctx.Done():
		t.Fatal("no DisconnectNotice on drain")
	}
	select {
	case kind := <-h.closed:
		code, ok := client.CloseCode(kind)
		if !ok || code != 4006 || client.Terminal(code) {
			t.Errorf("closed %q: want a non-terminal 4006", kind)
		}
	case <-ctx.Done():
		t.Fatal("no close after the notice")
	}
}
