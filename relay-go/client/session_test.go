package client

import (
	"testing"

	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

type countingSink struct {
	NopHandler
	moves, chats, events int
	joined               []Member
	emotes               []string
}

func (c *countingSink) Movement(int64, uint32, uint32)     { c.moves++ }
func (c *countingSink) Chat(int64, []byte, uint64)         { c.chats++ }
func (c *countingSink) Event(string)                       { c.events++ }
func (c *countingSink) MemberJoined(m Member, _ uint64)    { c.joined = append(c.joined, m) }
func (c *countingSink) Emote(_ uint32, e string, _ uint64) { c.emotes = append(c.emotes, e) }

func newTestSession(h Handler) *Session {
	s := &Session{sink: h, welcome: make(chan error, 1)}
	s.room, _ = h.(RoomHandler)
	return s
}

func TestSessionDecodesRelayFrames(t *testing.T) {
	enc := wire.NewEncoder(256)
	sk := &countingSink{}
	s := newTestSession(sk)
	s.handle(enc.Welcome(&wire.Welcome{SessionID: "s", MemberID: 2}))
	if err := <-s.welcome; err != nil || s.memberID != 2 {
		t.Fatalf("welcome: %v member %d", err, s.memberID)
	}
	s.handle(enc.MovementBatch(1, 0, []wire.Avatar{{MemberID: 1, ClientTimeMsLow: 5}, {MemberID: 2}, {MemberID: 3}}))
	s.handle(enc.ChatMessage(1, 1, "u", "n", "lg|1|1|0|abcdefghijklmnopqrstuvw", 0, 1))
	if sk.moves != 2 || sk.chats != 1 {
		t.Fatalf("moves %d (own avatar skipped) chats %d", sk.moves, sk.chats)
	}
	s.handle(enc.MemberJoined(&wire.MemberInfo{MemberID: 3, UserID: "u3", DisplayName: "Three"}, 2))
	s.handle(enc.EmotePlayed(3, 3, "wave", 0, 0))
	if len(sk.joined) != 1 || sk.joined[0].ID != 3 || sk.joined[0].DisplayName != "Three" || len(sk.emotes) != 1 || sk.emotes[0] != "wave" {
		t.Fatalf("typed events: joined %+v emotes %v", sk.joined, sk.emotes)
	}
	if sk.events != 0 {
		t.Fatalf("%d unexpected events (sequence 1, 2, 3 is gapless)", sk.events)
	}
	s.handle(enc.EmotePlayed(5, 3, "wave", 0, 0))
	if sk.events != 1 {
		t.Fatalf("a sequence gap is not reported: %d events", sk.events)
	}
}

// FuzzPlazaFrame: no relay frame, however broken, panics the client.
func FuzzPlazaFrame(f *testing.F) {
	enc := wire.NewEncoder(256)
	f.Add(enc.MovementBatch(1, 0, []wire.Avatar{{MemberID: 1}}))
	f.Add(enc.ChatMessage(1, 1, "u", "n", "lg|1|1|1|", 0, 1))
	f.Add(enc.Welcome(&wire.Welcome{MemberID: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newTestSession(&countingSink{})
		s.handle(b)
	})
}
