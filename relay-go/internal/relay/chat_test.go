package relay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

func TestChatOrderAndSequence(t *testing.T) {
	e := startRelay(t, nil)
	a, wa := e.join("room-c", "alice")
	b, _ := e.join("room-c", "bob")
	a.expect(protocol.MessageMemberJoined)
	for i, text := range []string{"one", "two", "three", "héllo 👋"} {
		a.send(a.enc.ChatSend(text, uint32(10+i)))
	}
	a.send(a.enc.EmoteSend("wave", 20))
	var last uint64 = 2 // alice joined (1), bob joined (2)
	for _, c := range []*client{a, b} {
		seq := last
		for i, want := range []string{"one", "two", "three", "héllo 👋"} {
			m := c.expect(protocol.MessageChatMessage).(*protocol.ChatMessageT)
			if m.Text != want || m.Sequence != seq+1 || m.UserId != "alice" || m.DisplayName != "Name alice" || m.MemberId != wa.MemberId || m.RequestId != uint32(10+i) || m.ServerTimeMs == 0 {
				t.Fatalf("chat %d: %+v", i, m)
			}
			seq = m.Sequence
		}
		em := c.expect(protocol.MessageEmotePlayed).(*protocol.EmotePlayedT)
		if em.Emote != "wave" || em.Sequence != seq+1 || em.RequestId != 20 {
			t.Fatalf("emote %+v", em)
		}
	}
	ev, ok := e.events.Wait(context.Background(), func(ev coord.Event) bool { return ev.Kind == coord.EventChat && ev.Text == "three" })
	if !ok || ev.UserID != "alice" || ev.RoomID != "room-c" || ev.Sequence != 5 {
		t.Fatalf("chat event %+v", ev)
	}
}

func TestChatLimits(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.World.MaxChatBytes = 16 })
	a, _ := e.join("room-l", "alice")
	cases := []struct {
		text string
		code common.ErrorCode
	}{
		{"", common.ErrorCodeChatEmpty},
		{strings.Repeat("x", 17), common.ErrorCodeChatTooLong},
		{"bad \xff utf8", common.ErrorCodeChatInvalidUtf8},
	}
	for i, c := range cases {
		a.send(a.enc.ChatSend(c.text, uint32(i+1)))
		er := a.expectError(c.code)
		if er.RequestId != uint32(i+1) || er.RequestType != byte(protocol.MessageChatSend) {
			t.Fatalf("error %+v", er)
		}
	}
	a.send(a.enc.EmoteSend(strings.Repeat("e", 65), 9))
	a.expectError(common.ErrorCodeEmoteInvalid)
	a.send(a.enc.ChatSend(strings.Repeat("x", 16), 5))
	if m := a.expect(protocol.MessageChatMessage).(*protocol.ChatMessageT); len(m.Text) != 16 {
		t.Fatal("chat at the limit refused")
	}
}

func TestChatMuted(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-mute", "alice")
	b, _ := e.join("room-mute", "bob")
	a.expect(protocol.MessageMemberJoined)
	ctx := context.Background()
	if n, err := e.srv.Hub.Mute(ctx, "room-mute", "alice", 0); err != nil || n != 1 {
		t.Fatalf("mute: %d %v", n, err)
	}
	a.send(a.enc.ChatSend("hello?", 3))
	if er := a.expectError(common.ErrorCodeMuted); er.RequestId != 3 {
		t.Fatalf("%+v", er)
	}
	if _, err := e.srv.Hub.Unmute(ctx, "", "alice"); err != nil {
		t.Fatal(err)
	}
	a.send(a.enc.ChatSend("back", 4))
	a.expect(protocol.MessageChatMessage)
	if m := b.expect(protocol.MessageChatMessage).(*protocol.ChatMessageT); m.Text != "back" {
		t.Fatalf("%+v", m)
	}
	// A timed mute through the command seam expires by itself.
	if err := e.commands.Send(ctx, coord.Command{ID: "c1", Kind: coord.CommandMute, RoomID: "room-mute", UserID: "alice", Duration: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.events.Wait(ctx, func(ev coord.Event) bool { return ev.Kind == coord.EventCommandAck && ev.CommandID == "c1" && ev.OK }); !ok {
		t.Fatal("no ack")
	}
	a.send(a.enc.ChatSend("muted", 5))
	a.expectError(common.ErrorCodeMuted)
	time.Sleep(400 * time.Millisecond)
	a.send(a.enc.ChatSend("free", 6))
	if m := b.expect(protocol.MessageChatMessage).(*protocol.ChatMessageT); m.Text != "free" {
		t.Fatalf("%+v", m)
	}
}

func TestChatRateLimited(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.World.ChatsPerSecond, c.World.ChatBurst = 1, 2 })
	a, _ := e.join("room-rl", "alice")
	for i := 1; i <= 3; i++ {
		a.send(a.enc.ChatSend("hi", uint32(i)))
	}
	// Errors are answered by the session directly, chat lines by the room:
	// the two streams are not ordered with respect to each other.
	got := map[string]uint32{}
	for i := 0; i < 3; i++ {
		env, err := a.read(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		switch v := env.Message.Value.(type) {
		case *protocol.ChatMessageT:
			got["chat"] += v.RequestId
		case *protocol.ErrorT:
			if v.Code != common.ErrorCodeRateLimited {
				t.Fatalf("%+v", v)
			}
			got["limited"] = v.RequestId
		}
	}
	if got["chat"] != 1+2 || got["limited"] != 3 {
		t.Fatalf("got %v", got)
	}
}
