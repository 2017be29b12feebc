package redisbridge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	gen "github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// Decision 009 on a real relay over real Redis: room lifetimes checked on
// the Hello path and re-checked periodically, used tickets recorded beyond
// the process, events and snapshots tagged with their lifetime.

// expectClose reads until the connection closes and returns its close
// code; it fails if a Welcome arrives first.
func (c *wsClient) expectClose() common.CloseCode {
	c.t.Helper()
	for {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, buf, err := c.conn.Read(rctx)
		cancel()
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				c.t.Fatalf("waiting for a close: %v", err)
			}
			return common.CloseCode(ce.Code)
		}
		if env := protocol.GetRootAsEnvelope(buf, 0).UnPack(); env.Message != nil && env.Message.Type == protocol.MessageWelcome {
			c.t.Fatal("got a Welcome, want the ticket refused")
		}
	}
}

// ticket mints a ticket for user in room at lifetime rlt on r.
func (r *testRelay) ticket(room, user string, rlt uint64) string {
	c := tickettest.Claims(r.cfg.RelayID, room, user)
	c["rlt"] = rlt
	return r.signer.Mint(c)
}

func roomEvents(t *testing.T, b *Bridge, room string) []*gen.RoomEventT {
	t.Helper()
	var out []*gen.RoomEventT
	for _, e := range readEvents(t, b) {
		if e.RoomId == room {
			out = append(out, e)
		}
	}
	return out
}

// Issue 12 item 1: after the control plane released a room (an operator's
// close: allocation gone, CloseRoom sent), a ticket minted before the close
// must not re-open it on the old relay. Old code: Welcome, a second copy of
// the room. Now: 4104, and the relay holds no room.
func TestStaleTicketAfterRoomCloseRefused(t *testing.T) {
	r, _ := startRelay(t, "relay-s", testPrefix())
	r.allocate(t, "room-s", 1)
	stale := r.ticket("room-s", "u_late", 1) // minted before the close
	cl := r.dial(t, r.ticket("room-s", "u_1", 1))
	cl.expect(protocol.MessageWelcome)
	// The control plane's close: room_release drops A room:<room>, then the
	// CloseRoom command reaches the relay.
	if err := rdb(t).Del(context.Background(), r.b.keyspace.room("room-s")).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.srv.Hub.CloseRoom(context.Background(), "room-s", "closed by an operator"); err != nil {
		t.Fatal(err)
	}
	if code := cl.expectClose(); code != common.CloseCodeRoomClosed {
		t.Fatalf("member closed with %d, want RoomClosed", code)
	}
	eventually(t, 5*time.Second, "room gone", func() bool { _, rooms := r.srv.Hub.Counts(); return rooms == 0 })
	if code := r.dial(t, stale).expectClose(); code != common.CloseCodeTicketWrongRoom {
		t.Fatalf("stale ticket closed with %d, want 4104 TicketWrongRoom", code)
	}
	if _, rooms := r.srv.Hub.Counts(); rooms != 0 {
		t.Fatalf("%d rooms open after a stale ticket, want 0", rooms)
	}
	// Lifetime 2 allocated elsewhere: a ticket of this relay for lifetime 1
	// or 2 is refused; an allocation naming this relay at 2 admits only 2.
	if err := rdb(t).HSet(context.Background(), r.b.keyspace.room("room-s"), "relay", "relay-other", "lifetime", 2).Err(); err != nil {
		t.Fatal(err)
	}
	if code := r.dial(t, r.ticket("room-s", "u_2", 2)).expectClose(); code != common.CloseCodeTicketWrongRoom {
		t.Fatalf("ticket for a room on another relay: %d", code)
	}
	r.allocate(t, "room-s", 2)
	if code := r.dial(t, r.ticket("room-s", "u_3", 1)).expectClose(); code != common.CloseCodeTicketWrongRoom {
		t.Fatalf("ticket for an ended lifetime: %d", code)
	}
	r.dial(t, r.ticket("room-s", "u_4", 2)).expect(protocol.MessageWelcome)
}

// Issue 12 items 1 and 9: a relay holding lifetime 1 of a room that gets a
// valid ticket for lifetime 2 closes its copy (members: RoomClosed) and
// opens lifetime 2 fresh: lifetime 1's state is not restored, its sequence
// starts again, and every event carries its lifetime.
func TestNewerLifetimeClosesOldCopyAndStartsFresh(t *testing.T) {
	r, _ := startRelay(t, "relay-n", testPrefix())
	cl, w := r.join(t, "room-n", "u_1") // lifetime 1
	cl.send(cl.enc.StateSet(&wire.StateSet{Key: "door", Value: []byte("open"), RequestID: 1}))
	cl.expect(protocol.MessageStateChanged)
	cl.send(cl.enc.ChatSend("lifetime one", 2))
	cl.expect(protocol.MessageChatMessage)
	if w.Snapshot.Sequence != 1 {
		t.Fatalf("sequence %d", w.Snapshot.Sequence)
	}
	r.allocate(t, "room-n", 2) // released and created again, on this relay
	cl2 := r.dial(t, r.ticket("room-n", "u_2", 2))
	w2 := cl2.expect(protocol.MessageWelcome).Message.Value.(*protocol.WelcomeT)
	if code := cl.expectClose(); code != common.CloseCodeRoomClosed {
		t.Fatalf("lifetime 1's member closed with %d, want RoomClosed", code)
	}
	if w2.Snapshot.Sequence != 1 || len(w2.Snapshot.State) != 0 || len(w2.Snapshot.Members) != 1 {
		t.Fatalf("lifetime 2's welcome %+v: want a fresh room (sequence 1, no state, one member)", w2.Snapshot)
	}
	eventually(t, 5*time.Second, "lifetime 2's join on the stream", func() bool {
		for _, e := range roomEvents(t, r.b, "room-n") {
			if e.RoomLifetime == 2 {
				return true
			}
		}
		return false
	})
	var closed1 bool
	for _, e := range roomEvents(t, r.b, "room-n") {
		if e.RoomLifetime != 1 && e.RoomLifetime != 2 {
			t.Fatalf("event %+v without its lifetime", e)
		}
		if c, ok := e.Body.Value.(*gen.RoomClosedEventT); ok && e.RoomLifetime == 1 {
			closed1 = c.LastSequence >= 3
		}
	}
	if !closed1 {
		t.Fatal("no RoomClosed event of lifetime 1")
	}
	// A late ticket of lifetime 1 does not bring lifetime 1 back.
	if code := r.dial(t, r.ticket("room-n", "u_3", 1)).expectClose(); code != common.CloseCodeTicketWrongRoom {
		t.Fatalf("lifetime 1 ticket: %d", code)
	}
}

// A snapshot of a closed lifetime is not restored when the next lifetime of
// the room opens, on a relay that never held the room (issue 12 item 9).
// Old code restored it.
func TestSnapshotOfClosedLifetimeNotRestored(t *testing.T) {
	prefix := testPrefix()
	a, stopA := startRelay(t, "relay-a", prefix)
	cl, _ := a.join(t, "room-c", "u_1")
	cl.send(cl.enc.StateSet(&wire.StateSet{Key: "door", Value: []byte("open"), RequestID: 1}))
	cl.expect(protocol.MessageStateChanged)
	stopA() // the drain saves lifetime 1's snapshot
	buf, err := rdb(t).Get(context.Background(), a.b.keyspace.roomSnapshot("room-c")).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if s, err := decodeSnapshot(buf); err != nil || s.RoomLifetime != 1 || len(s.Entries) != 1 {
		t.Fatalf("saved snapshot %+v %v", s, err)
	}
	b, _ := startRelay(t, "relay-b", prefix)
	b.allocate(t, "room-c", 2)
	w := b.dial(t, b.ticket("room-c", "u_2", 2)).expect(protocol.MessageWelcome).Message.Value.(*protocol.WelcomeT)
	if len(w.Snapshot.State) != 0 || w.Snapshot.Sequence != 1 {
		t.Fatalf("lifetime 2 opened with %+v, want lifetime 1's state left behind", w.Snapshot)
	}
}

// Issue 12 item 4, with a real restart: a ticket used on a relay is
// refused (4003) by the relay process that replaces it under the same id
// (a new Server and bridge over the same Redis, with an empty replay
// cache). Old code: Welcome again. The record lives until exp + skew.
func TestUsedTicketRefusedAfterRestart(t *testing.T) {
	prefix := testPrefix()
	signer := tickettest.NewSigner("k1")
	a, stopA := startRelayWith(t, "relay-r", prefix, signer, nil)
	a.allocate(t, "room-r", 1)
	claims := tickettest.Claims("relay-r", "room-r", "u_1")
	tok := signer.Mint(claims)
	cl := a.dial(t, tok)
	cl.expect(protocol.MessageWelcome)
	key := a.b.keyspace.ticketUsed(claims["jti"].(string))
	at, err := rdb(t).PExpireTime(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := time.Unix(claims["exp"].(int64), 0).Add(a.cfg.TicketSkew)
	if at != time.Duration(want.UnixMilli())*time.Millisecond {
		t.Fatalf("%s expires at %v, want exp+skew %v", key, at, want.UnixMilli())
	}
	if code := a.dial(t, tok).expectClose(); code != common.CloseCodeTicketReplayed {
		t.Fatalf("replay on the same process: %d", code)
	}
	stopA()
	a2, _ := startRelayWith(t, "relay-r", prefix, signer, nil)
	if code := a2.dial(t, tok).expectClose(); code != common.CloseCodeTicketReplayed {
		t.Fatalf("replay after the restart closed with %d, want 4003 TicketReplayed", code)
	}
	a2.dial(t, a2.ticket("room-r", "u_2", 1)).expect(protocol.MessageWelcome)
}

// Fail closed: with Redis unreachable a valid ticket is refused with 4009
// (retryable), never admitted unchecked.
func TestJoinRefusedWhileRedisUnreachable(t *testing.T) {
	r, _ := startRelayWith(t, "relay-d", testPrefix(), tickettest.NewSigner("k1"), func(c *config.Config) {
		c.RedisURL = "redis://127.0.0.1:1/0" // nothing listens there
	})
	if code := r.dial(t, r.ticket("room-d", "u_1", 1)).expectClose(); code != common.CloseCodeServerOverloaded {
		t.Fatalf("closed with %d, want 4009 ServerOverloaded", code)
	}
	if _, rooms := r.srv.Hub.Counts(); rooms != 0 {
		t.Fatalf("%d rooms opened unchecked", rooms)
	}
}

// The periodic re-check closes, with RoomClosed, a room whose allocation
// moved to another relay (a lost CloseRoom, or a re-home while this
// relay's heartbeat lapsed), and one whose allocation is gone; a room that
// keeps its allocation stays.
func TestAssignmentRecheckClosesRoomsThatLostTheirAllocation(t *testing.T) {
	r, _ := startRelayWith(t, "relay-c", testPrefix(), tickettest.NewSigner("k1"), func(c *config.Config) {
		c.AssignmentCheckInterval = 100 * time.Millisecond
	})
	moved, _ := r.join(t, "room-moved", "u_1")
	gone, _ := r.join(t, "room-gone", "u_2")
	kept, _ := r.join(t, "room-kept", "u_3")
	ctx := context.Background()
	if err := rdb(t).HSet(ctx, r.b.keyspace.room("room-moved"), "relay", "relay-elsewhere").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb(t).Del(ctx, r.b.keyspace.room("room-gone")).Err(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*wsClient{"moved": moved, "gone": gone} {
		if code := c.expectClose(); code != common.CloseCodeRoomClosed {
			t.Fatalf("room-%s member closed with %d, want RoomClosed", name, code)
		}
	}
	time.Sleep(300 * time.Millisecond) // three more rounds
	kept.send(kept.enc.ChatSend("still here", 1))
	kept.expect(protocol.MessageChatMessage)
	if _, rooms := r.srv.Hub.Counts(); rooms != 1 {
		t.Fatalf("%d rooms open, want room-kept only", rooms)
	}
	eventually(t, 5*time.Second, "RoomClosed events with their lifetime", func() bool {
		n := 0
		for _, room := range []string{"room-moved", "room-gone"} {
			for _, e := range roomEvents(t, r.b, room) {
				if _, ok := e.Body.Value.(*gen.RoomClosedEventT); ok && e.RoomLifetime == 1 {
					n++
				}
			}
		}
		return n == 2
	})
}

// Each relay process reports a boot id (16 hex) in every heartbeat and on
// /readyz; a restarted process under the same relay id draws a new one.
func TestHeartbeatBootIDPerProcess(t *testing.T) {
	prefix := testPrefix()
	bootOf := func(r *testRelay) (hb, readyz string) {
		t.Helper()
		eventually(t, 5*time.Second, "heartbeat", func() bool {
			buf, err := rdb(t).Get(context.Background(), r.b.keyspace.relayHB()).Bytes()
			if err != nil {
				return false
			}
			hb = string(gen.GetRootAsRelayHeartbeat(buf, 0).BootId())
			return hb != ""
		})
		eventually(t, 5*time.Second, "/readyz 200", func() bool {
			resp, err := http.Get("http://" + r.srv.AdminAddr() + "/readyz")
			if err != nil {
				return false
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			_, readyz, _ = strings.Cut(string(body), "boot_id ")
			readyz = strings.TrimSpace(readyz)
			return resp.StatusCode == http.StatusOK
		})
		return hb, readyz
	}
	a, stopA := startRelay(t, "relay-boot", prefix)
	hb1, ready1 := bootOf(a)
	if len(hb1) != 16 || strings.Trim(hb1, "0123456789abcdef") != "" || ready1 != hb1 {
		t.Fatalf("boot id %q (readyz %q), want 16 hex chars, the same on both", hb1, ready1)
	}
	stopA()
	b, _ := startRelay(t, "relay-boot", prefix)
	if hb2, _ := bootOf(b); hb2 == hb1 || len(hb2) != 16 {
		t.Fatalf("restarted relay boot id %q, first %q: want a new one", hb2, hb1)
	}
}
