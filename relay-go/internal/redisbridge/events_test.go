package redisbridge

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	gen "github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// readEvents returns every RoomEvent on the test bridge's stream, decoded
// with the generated code, checking the PLZE identifier.
func readEvents(t *testing.T, b *Bridge) []*gen.RoomEventT {
	t.Helper()
	msgs, err := rdb(t).XRange(context.Background(), b.keyspace.events(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*gen.RoomEventT, 0, len(msgs))
	for _, m := range msgs {
		s, ok := m.Values["e"].(string)
		if !ok || len(m.Values) != 1 {
			t.Fatalf("stream entry %v: want exactly one field e", m.Values)
		}
		buf := []byte(s)
		if !gen.RoomEventBufferHasIdentifier(buf) {
			t.Fatalf("event without PLZE identifier")
		}
		out = append(out, gen.GetRootAsRoomEvent(buf, 0).UnPack())
	}
	return out
}

// counterOf parses the counter out of an event id "<relay>:<boot>:<n>".
func counterOf(t *testing.T, id string) uint64 {
	t.Helper()
	parts := strings.Split(id, ":")
	if len(parts) != 3 || parts[0] != "relay-t" {
		t.Fatalf("event id %q", id)
	}
	n, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func chat(seq uint64) coord.Event {
	return coord.Event{Kind: coord.EventChat, RoomID: "room-1", WorldID: "lobby", RoomLifetime: 1, OccurredAt: time.UnixMilli(1700000000000 + int64(seq)),
		UserID: "u_a", DisplayName: "A", Sequence: seq, Text: fmt.Sprintf("hello %d", seq)}
}

func TestEventsRoundTrip(t *testing.T) {
	b := newTestBridge(t, true, nil)
	ctx := context.Background()
	kinds := []coord.Event{
		{Kind: coord.EventMemberJoined, RoomID: "room-1", WorldID: "lobby", OccurredAt: time.UnixMilli(1), UserID: "u_a", MemberID: 3, DisplayName: "A", SessionID: "s1"},
		{Kind: coord.EventMemberLeft, RoomID: "room-1", WorldID: "lobby", OccurredAt: time.UnixMilli(2), UserID: "u_a", MemberID: 3, SessionID: "s1", LeaveReason: common.LeaveReasonKicked, Duration: 1500 * time.Millisecond},
		{Kind: coord.EventStateChanged, RoomID: "room-1", WorldID: "lobby", OccurredAt: time.UnixMilli(3), Sequence: 9, Key: "door", Value: []byte("open"), Version: 4, By: 3},
		{Kind: coord.EventRoomClosed, RoomID: "room-1", WorldID: "lobby", RoomLifetime: 7, OccurredAt: time.UnixMilli(4), Reason: "empty", Sequence: 10},
		{Kind: coord.EventCommandAck, OccurredAt: time.UnixMilli(5), CommandID: "c-1", OK: true, Detail: "kick affected 1"},
	}
	for _, e := range kinds {
		b.Events.Publish(ctx, e)
	}
	const chats = 1000
	for i := 1; i <= chats; i++ {
		b.Events.Publish(ctx, chat(uint64(i)))
	}
	eventually(t, 10*time.Second, "events written", func() bool { return b.Events.Buffered() == 0 })
	got := readEvents(t, b)
	if len(got) != len(kinds)+chats {
		t.Fatalf("%d events on the stream, want %d", len(got), len(kinds)+chats)
	}
	for i, e := range got {
		if counterOf(t, e.EventId) != uint64(i+1) || e.RelayId != "relay-t" {
			t.Fatalf("event %d: id %q relay %q", i, e.EventId, e.RelayId)
		}
	}
	if v := got[0].Body.Value.(*gen.MemberJoinedEventT); v.UserId != "u_a" || v.MemberId != 3 || v.DisplayName != "A" || v.SessionId != "s1" || got[0].RoomId != "room-1" || got[0].WorldId != "lobby" || got[0].OccurredAtMs != 1 {
		t.Fatalf("joined %+v %+v", got[0], v)
	}
	if v := got[1].Body.Value.(*gen.MemberLeftEventT); v.Reason != common.LeaveReasonKicked || v.DurationMs != 1500 {
		t.Fatalf("left %+v", v)
	}
	if v := got[2].Body.Value.(*gen.StateChangedEventT); v.Sequence != 9 || v.Entry.Key != "door" || string(v.Entry.Value) != "open" || v.Entry.Version != 4 || v.Entry.UpdatedBy != 3 || v.Deleted {
		t.Fatalf("state %+v %+v", v, v.Entry)
	}
	if v := got[3].Body.Value.(*gen.RoomClosedEventT); v.Reason != "empty" || v.LastSequence != 10 || got[3].RoomLifetime != 7 {
		t.Fatalf("closed %+v", v)
	}
	if v := got[4].Body.Value.(*gen.CommandAckT); v.CommandId != "c-1" || !v.Ok || v.Detail != "kick affected 1" || got[4].RoomId != "" || got[4].RoomLifetime != 0 {
		t.Fatalf("ack %+v", v)
	}
	for i := 0; i < chats; i++ {
		v := got[len(kinds)+i].Body.Value.(*gen.ChatMessageEventT)
		if v.Sequence != uint64(i+1) || v.Text != fmt.Sprintf("hello %d", i+1) || got[len(kinds)+i].RoomLifetime != 1 {
			t.Fatalf("chat %d out of order: %+v", i, v)
		}
	}
	if w := testutil.ToFloat64(b.metrics.eventsWritten); w != float64(len(got)) {
		t.Fatalf("events_written %v", w)
	}
}

// Redis killed and restarted on the same port: events published during the
// outage arrive afterwards, in order, none lost; /readyz's check fails
// meanwhile.
func TestEventsSurviveRedisRestart(t *testing.T) {
	b := newTestBridge(t, true, nil)
	ctx := context.Background()
	eventually(t, 3*time.Second, "ready", func() bool { return b.Events.Ready(ctx) == nil })
	b.Events.Publish(ctx, chat(1))
	eventually(t, 3*time.Second, "first event written", func() bool { return b.Events.Buffered() == 0 })

	stopRedis()
	restarted := false
	defer func() {
		if !restarted {
			_ = startRedis()
		}
	}()
	const during = 2000
	for i := 2; i <= during+1; i++ {
		b.Events.Publish(ctx, chat(uint64(i)))
	}
	eventually(t, 3*time.Second, "not ready while redis is down", func() bool { return b.Events.Ready(ctx) != nil })
	time.Sleep(300 * time.Millisecond) // the writer retries and fails meanwhile
	if n := b.Events.Buffered(); n != during {
		t.Fatalf("%d events buffered during the outage, want %d", n, during)
	}
	if testutil.ToFloat64(b.metrics.errors.WithLabelValues("xadd")) == 0 {
		t.Fatal("no xadd errors counted during the outage")
	}
	if err := startRedis(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	eventually(t, 10*time.Second, "buffer flushed after restart", func() bool { return b.Events.Buffered() == 0 })
	eventually(t, 3*time.Second, "ready again", func() bool { return b.Events.Ready(ctx) == nil })
	got := readEvents(t, b) // a fresh server: only what was written after the restart
	if len(got) != during {
		t.Fatalf("%d events after the restart, want %d", len(got), during)
	}
	for i, e := range got {
		v := e.Body.Value.(*gen.ChatMessageEventT)
		if v.Sequence != uint64(i+2) || counterOf(t, e.EventId) != uint64(i+2) {
			t.Fatalf("event %d: seq %d id %s", i, v.Sequence, e.EventId)
		}
	}
	if b.Events.Dropped() != 0 {
		t.Fatalf("%d dropped", b.Events.Dropped())
	}
}

// A full buffer drops the oldest events and counts them; the newest are
// written once the writer runs.
func TestEventBufferOverflowDropsOldest(t *testing.T) {
	b := newTestBridge(t, false, func(c *Config) { c.EventBuffer = 10 })
	ctx := context.Background()
	for i := 1; i <= 25; i++ {
		b.Events.Publish(ctx, chat(uint64(i)))
	}
	if b.Events.Dropped() != 15 || b.Events.Buffered() != 10 || testutil.ToFloat64(b.metrics.eventsDropped) != 15 {
		t.Fatalf("dropped %d buffered %d metric %v", b.Events.Dropped(), b.Events.Buffered(), testutil.ToFloat64(b.metrics.eventsDropped))
	}
	go func() { _ = b.Run(ctx) }()
	eventually(t, 5*time.Second, "buffer written", func() bool { return b.Events.Buffered() == 0 })
	got := readEvents(t, b)
	if len(got) != 10 {
		t.Fatalf("%d events, want 10", len(got))
	}
	for i, e := range got {
		if seq := e.Body.Value.(*gen.ChatMessageEventT).Sequence; seq != uint64(16+i) || counterOf(t, e.EventId) != seq {
			t.Fatalf("event %d: seq %d id %s", i, seq, e.EventId)
		}
	}
}

// The buffer grows on demand up to its bound and keeps FIFO order across
// the growth.
func TestEventBufferGrowsInOrder(t *testing.T) {
	b := newTestBridge(t, false, func(c *Config) { c.EventBuffer = 5000 })
	ctx := context.Background()
	for i := 1; i <= 3000; i++ {
		b.Events.Publish(ctx, chat(uint64(i)))
	}
	batch := b.Events.peek(nil, 5000)
	if len(batch) != 3000 || b.Events.Dropped() != 0 {
		t.Fatalf("held %d dropped %d", len(batch), b.Events.Dropped())
	}
	for i, p := range batch {
		if p.e.Sequence != uint64(i+1) {
			t.Fatalf("position %d holds %d", i, p.e.Sequence)
		}
	}
}
