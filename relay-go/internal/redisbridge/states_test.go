package redisbridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

func stateEvent(room string, seq uint64, key, value string, version uint64, deleted bool) coord.Event {
	return coord.Event{Kind: coord.EventStateChanged, RoomID: room, WorldID: "lobby", RoomLifetime: 1, OccurredAt: time.Now(), Sequence: seq,
		Key: key, Value: []byte(value), Version: version, Deleted: deleted, By: 1}
}

func TestSnapshotsBatchedOnChangeAndRestored(t *testing.T) {
	b := newTestBridge(t, true, func(c *Config) { c.SnapshotDelay = 100 * time.Millisecond })
	ctx := context.Background()
	if _, found, err := b.States.Load(ctx, "room-1", 1); found || err != nil {
		t.Fatalf("found %v err %v", found, err)
	}
	// 200 changes within ~40 ms: coalesced into very few writes.
	for i := 1; i <= 200; i++ {
		b.Events.Publish(ctx, stateEvent("room-1", uint64(i), fmt.Sprintf("k%d", i%5), fmt.Sprintf("v%d", i), uint64(i), false))
		if i%20 == 0 {
			time.Sleep(4 * time.Millisecond)
		}
	}
	b.Events.Publish(ctx, stateEvent("room-1", 201, "k0", "", 201, true))
	b.Events.Publish(ctx, chat(205)) // room-1 too: the sequence follows chat
	var snap coord.RoomSnapshot
	eventually(t, 3*time.Second, "latest snapshot written", func() bool {
		buf, err := rdb(t).Get(ctx, b.keyspace.roomSnapshot("room-1")).Bytes()
		if err != nil {
			return false
		}
		snap, err = decodeSnapshot(buf)
		return err == nil && snap.Sequence == 205
	})
	if w := testutil.ToFloat64(b.metrics.snapshotsWritten); w > 3 {
		t.Fatalf("%v snapshot writes for 202 changes within ~50 ms, want coalescing (at most 3)", w)
	}
	if len(snap.Entries) != 4 || snap.RoomID != "room-1" || snap.WorldID != "lobby" || snap.RelayID != "relay-t" {
		t.Fatalf("snapshot %+v", snap)
	}
	for _, e := range snap.Entries {
		if e.Key == "k0" {
			t.Fatal("deleted key in the snapshot")
		}
		if e.Key == "k1" && (string(e.Value) != "v196" || e.Version != 196) {
			t.Fatalf("k1 = %+v, want the latest (v196)", e)
		}
	}
	ttl, _ := rdb(t).TTL(ctx, b.keyspace.roomSnapshot("room-1")).Result()
	if ttl < 86000*time.Second || ttl > 86400*time.Second {
		t.Fatalf("TTL %v", ttl)
	}
	if b.keyspace.roomSnapshot("room-1") != b.cfg.Prefix+"room:{room-1}:snapshot" {
		t.Fatal(b.keyspace.roomSnapshot("room-1"))
	}

	// Another relay (a re-homed room) restores it.
	b2 := newTestBridge(t, true, func(c *Config) { c.Prefix, c.RelayID = b.cfg.Prefix, "relay-2" })
	got, found, err := b2.States.Load(ctx, "room-1", 1)
	if !found || err != nil || got.Sequence != 205 || len(got.Entries) != 4 {
		t.Fatalf("restore: found %v err %v %+v", found, err, got)
	}

	// Save (room closed) writes the exact final state at once and stops
	// tracking: later events of that room do not overwrite it.
	final := coord.RoomSnapshot{RoomID: "room-1", WorldID: "lobby", RoomLifetime: 1, Sequence: 230, Entries: []coord.StateEntry{{Key: "only", Value: []byte("x"), Version: 1}}}
	if err := b.States.Save(ctx, final); err != nil {
		t.Fatal(err)
	}
	b.Events.Publish(ctx, stateEvent("room-1", 231, "late", "y", 1, false))
	time.Sleep(250 * time.Millisecond)
	got, _, _ = b2.States.Load(ctx, "room-1", 1)
	if got.Sequence != 230 || len(got.Entries) != 1 || got.Entries[0].Key != "only" {
		t.Fatalf("after Save: %+v", got)
	}

	// Events of rooms not opened here are not tracked.
	b.Events.Publish(ctx, stateEvent("room-unknown", 1, "a", "b", 1, false))
	time.Sleep(250 * time.Millisecond)
	if n, _ := rdb(t).Exists(ctx, b.keyspace.roomSnapshot("room-unknown")).Result(); n != 0 {
		t.Fatal("untracked room written")
	}
}

func TestSnapshotRefusedWhenForAnotherRoomOrGarbage(t *testing.T) {
	b := newTestBridge(t, true, nil)
	ctx := context.Background()
	_ = rdb(t).Set(ctx, b.keyspace.roomSnapshot("r-a"), encodeSnapshot(coord.RoomSnapshot{RoomID: "r-b", Sequence: 3}), 0).Err()
	_ = rdb(t).Set(ctx, b.keyspace.roomSnapshot("r-c"), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0).Err()
	for _, id := range []string{"r-a", "r-c"} {
		if _, found, err := b.States.Load(ctx, id, 1); found || err == nil {
			t.Fatalf("%s: found %v err %v", id, found, err)
		}
	}
}

// Emotes and announcements advance the room sequence without a persisted
// event; the snapshot must still follow them, or a re-homed room would hand
// out a number clients already saw.
func TestSnapshotFollowsTrackerOnlySequenceEvents(t *testing.T) {
	b := newTestBridge(t, true, func(c *Config) { c.SnapshotDelay = 20 * time.Millisecond })
	ctx := context.Background()
	if _, _, err := b.States.Load(ctx, "room-seq", 1); err != nil {
		t.Fatal(err)
	}
	before, err := rdb(t).XLen(ctx, b.keyspace.events()).Result()
	if err != nil {
		t.Fatal(err)
	}
	b.Events.Publish(ctx, coord.Event{Kind: coord.EventMemberJoined, RoomID: "room-seq", WorldID: "lobby", RoomLifetime: 1, Sequence: 4, UserID: "u", SessionID: "s"})
	b.Events.Publish(ctx, coord.Event{Kind: coord.EventSequenceAdvanced, RoomID: "room-seq", WorldID: "lobby", RoomLifetime: 1, Sequence: 9})
	eventually(t, 3*time.Second, "snapshot at sequence 9", func() bool {
		buf, err := rdb(t).Get(ctx, b.keyspace.roomSnapshot("room-seq")).Bytes()
		if err != nil {
			return false
		}
		snap, err := decodeSnapshot(buf)
		return err == nil && snap.Sequence == 9
	})
	eventually(t, 3*time.Second, "the member-joined event on the stream", func() bool {
		n, _ := rdb(t).XLen(ctx, b.keyspace.events()).Result()
		return n == before+1
	})
	time.Sleep(100 * time.Millisecond)
	if n, _ := rdb(t).XLen(ctx, b.keyspace.events()).Result(); n != before+1 {
		t.Fatalf("stream grew by %d, want 1: tracker-only events must not be written", n-before)
	}
}

// State belongs to one room lifetime (decision 009): a snapshot written by
// lifetime 1 is not restored into lifetime 2, its entries do not leak into
// lifetime 2's snapshots, and events of lifetime 1 arriving late do not
// touch lifetime 2's tracked state.
func TestSnapshotOfAnotherLifetimeNotRestored(t *testing.T) {
	b := newTestBridge(t, true, func(c *Config) { c.SnapshotDelay = 20 * time.Millisecond })
	ctx := context.Background()
	old := coord.RoomSnapshot{RoomID: "room-l", WorldID: "lobby", RoomLifetime: 1, Sequence: 50,
		Entries: []coord.StateEntry{{Key: "door", Value: []byte("open"), Version: 9}}}
	if err := b.States.Save(ctx, old); err != nil {
		t.Fatal(err)
	}
	if got, found, err := b.States.Load(ctx, "room-l", 1); !found || err != nil || got.Sequence != 50 || got.RoomLifetime != 1 {
		t.Fatalf("same lifetime: found %v err %v %+v", found, err, got)
	}
	if got, found, err := b.States.Load(ctx, "room-l", 2); found || err != nil {
		t.Fatalf("lifetime 2 restored lifetime 1's state: %+v err %v", got, err)
	}
	late := stateEvent("room-l", 51, "late", "x", 10, false) // lifetime 1
	b.Events.Publish(ctx, late)
	e := stateEvent("room-l", 1, "music", "on", 1, false)
	e.RoomLifetime = 2
	b.Events.Publish(ctx, e)
	var snap coord.RoomSnapshot
	eventually(t, 3*time.Second, "lifetime 2's snapshot", func() bool {
		buf, err := rdb(t).Get(ctx, b.keyspace.roomSnapshot("room-l")).Bytes()
		if err != nil {
			return false
		}
		snap, err = decodeSnapshot(buf)
		return err == nil && snap.RoomLifetime == 2
	})
	if snap.Sequence != 1 || len(snap.Entries) != 1 || snap.Entries[0].Key != "music" {
		t.Fatalf("lifetime 2's snapshot %+v, want only its own state", snap)
	}
}
