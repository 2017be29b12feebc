package redisbridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// snapshotTTL is the life of P room:{<room>}:snapshot, refreshed per write.
const snapshotTTL = 86400 * time.Second

// RoomStates is the Redis coord.RoomStateStore.
//
// The relay calls Load when a room opens and Save when it closes or drains.
// Between the two, RoomStates follows the room's state through its events
// (Events.Publish feeds it: StateChanged carries the entry; every event a
// room publishes, EventSequenceAdvanced for emotes and announcements
// included, carries the room sequence it reached, and the tracked sequence
// is the highest seen) and writes the room's snapshot when it changed,
// at most once per SnapshotDelay per room, always the latest. So a room
// whose relay dies is restored elsewhere with its state as of at most
// SnapshotDelay before the crash. Writes of one room never go backwards: a
// Save (the exact final state) supersedes any pending write.
type RoomStates struct {
	b *Bridge

	writeMu sync.Mutex // serialises snapshot writes (flush rounds and Save)
	mu      sync.Mutex
	rooms   map[string]*tracked
	wake    chan struct{}
}

// tracked is a room's state as learned from its Load and its events.
type tracked struct {
	world    string
	lifetime uint64
	seq      uint64
	entries  map[string]coord.StateEntry
	dirty    bool
}

func newRoomStates(b *Bridge) *RoomStates {
	return &RoomStates{b: b, rooms: make(map[string]*tracked), wake: make(chan struct{}, 1)}
}

// Ready implements relay.ReadyChecker.
func (s *RoomStates) Ready(ctx context.Context) error { return s.b.Ready(ctx) }

// Load implements coord.RoomStateStore. It also starts tracking the room's
// lifetime, from the snapshot when it is of that lifetime, else empty (a
// snapshot of an ended lifetime is then overwritten by the first write).
func (s *RoomStates) Load(ctx context.Context, roomID string, lifetime uint64) (coord.RoomSnapshot, bool, error) {
	fresh := coord.RoomSnapshot{RoomID: roomID, RoomLifetime: lifetime}
	buf, err := s.b.rdb.Get(ctx, s.b.keyspace.roomSnapshot(roomID)).Bytes()
	snap, found := coord.RoomSnapshot{}, false
	switch {
	case errors.Is(err, redis.Nil):
		snap = fresh
	case err != nil:
		s.b.redisError("snapshot_load")
		s.track(fresh)
		return coord.RoomSnapshot{}, false, fmt.Errorf("load room %s: %w", roomID, err)
	default:
		snap, err = decodeSnapshot(buf)
		if err != nil {
			s.track(fresh)
			return coord.RoomSnapshot{}, false, fmt.Errorf("load room %s: %w", roomID, err)
		}
		if snap.RoomID != roomID {
			s.track(fresh)
			return coord.RoomSnapshot{}, false, fmt.Errorf("load room %s: snapshot is for room %q", roomID, snap.RoomID)
		}
		if snap.RoomLifetime != lifetime {
			s.b.log.Info("room snapshot of another lifetime not restored", "room", roomID, "lifetime", lifetime, "snapshot_lifetime", snap.RoomLifetime)
			snap = fresh
		} else {
			found = true
		}
	}
	s.track(snap)
	if !found {
		return coord.RoomSnapshot{}, false, nil
	}
	return snap, true, nil
}

func (s *RoomStates) track(snap coord.RoomSnapshot) {
	roomID := snap.RoomID
	t := &tracked{world: snap.WorldID, lifetime: snap.RoomLifetime, seq: snap.Sequence, entries: make(map[string]coord.StateEntry, len(snap.Entries))}
	for _, e := range snap.Entries {
		t.entries[e.Key] = e
	}
	s.mu.Lock()
	s.rooms[roomID] = t
	s.mu.Unlock()
}

// Save implements coord.RoomStateStore: it writes snap now (the exact final
// state) and stops tracking the room.
func (s *RoomStates) Save(ctx context.Context, snap coord.RoomSnapshot) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	delete(s.rooms, snap.RoomID)
	s.mu.Unlock()
	if snap.SavedAt.IsZero() {
		snap.SavedAt = time.Now()
	}
	if snap.RelayID == "" {
		snap.RelayID = s.b.cfg.RelayID
	}
	if err := s.b.rdb.Set(ctx, s.b.keyspace.roomSnapshot(snap.RoomID), encodeSnapshot(snap), snapshotTTL).Err(); err != nil {
		s.b.redisError("snapshot_save")
		return fmt.Errorf("save room %s: %w", snap.RoomID, err)
	}
	s.b.metrics.snapshotsWritten.Inc()
	return nil
}

// observe follows a room's events (called by Events.Publish on the room's
// goroutine, so in room order). Rooms not loaded on this relay, and events
// of another lifetime than the one loaded, are ignored.
func (s *RoomStates) observe(e coord.Event) {
	switch e.Kind {
	case coord.EventChat, coord.EventStateChanged, coord.EventMemberJoined, coord.EventMemberLeft,
		coord.EventSequenceAdvanced:
	default:
		return
	}
	s.mu.Lock()
	t := s.rooms[e.RoomID]
	if t == nil || t.lifetime != e.RoomLifetime {
		s.mu.Unlock()
		return
	}
	if t.world == "" {
		t.world = e.WorldID
	}
	// Every event the room publishes carries the room sequence it reached.
	t.seq = max(t.seq, e.Sequence)
	if e.Kind == coord.EventStateChanged {
		if e.Deleted {
			delete(t.entries, e.Key)
		} else {
			t.entries[e.Key] = coord.StateEntry{Key: e.Key, Value: e.Value, Version: e.Version, UpdatedBy: e.By}
		}
	}
	wasDirty := t.dirty
	t.dirty = true
	s.mu.Unlock()
	if !wasDirty {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// flushLoop writes dirty rooms: after the first change it waits
// SnapshotDelay (coalescing later changes), then writes every dirty room's
// latest snapshot in one pipeline.
func (s *RoomStates) flushLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		if !sleep(ctx, s.b.cfg.SnapshotDelay) {
			return
		}
		if err := s.flush(ctx); err != nil && ctx.Err() == nil {
			s.b.log.Warn("room snapshot write failed; will retry", "err", err)
			if !sleep(ctx, s.b.cfg.SnapshotDelay*5) {
				return
			}
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// flush writes every dirty room once.
func (s *RoomStates) flush(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	var snaps []coord.RoomSnapshot
	now := time.Now()
	for id, t := range s.rooms {
		if !t.dirty {
			continue
		}
		t.dirty = false
		snap := coord.RoomSnapshot{RoomID: id, WorldID: t.world, Sequence: t.seq, SavedAt: now, RelayID: s.b.cfg.RelayID, RoomLifetime: t.lifetime}
		for _, e := range t.entries {
			snap.Entries = append(snap.Entries, e)
		}
		snaps = append(snaps, snap)
	}
	s.mu.Unlock()
	if len(snaps) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := s.b.rdb.Pipelined(wctx, func(p redis.Pipeliner) error {
		for _, snap := range snaps {
			p.Set(wctx, s.b.keyspace.roomSnapshot(snap.RoomID), encodeSnapshot(snap), snapshotTTL)
		}
		return nil
	})
	if err != nil {
		s.b.redisError("snapshot_flush")
		// Mark them dirty again (unless saved or re-dirtied meanwhile).
		s.mu.Lock()
		for _, snap := range snaps {
			if t := s.rooms[snap.RoomID]; t != nil {
				t.dirty = true
			}
		}
		s.mu.Unlock()
		return fmt.Errorf("flush %d room snapshots: %w", len(snaps), err)
	}
	s.b.metrics.snapshotsWritten.Add(float64(len(snaps)))
	return nil
}

// flushAll writes what is dirty (Shutdown).
func (s *RoomStates) flushAll(ctx context.Context) {
	if err := s.flush(ctx); err != nil {
		s.b.log.Warn("final room snapshot write failed", "err", err)
	}
}
