package redisbridge

import (
	"context"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

func TestWorldConfigFetchAndVersionRule(t *testing.T) {
	b := newTestBridge(t, true, func(c *Config) { c.WorldConfigMaxAge = 50 * time.Millisecond })
	ctx := context.Background()
	c := rdb(t)

	// No key: the relay's default, under the world's id.
	w, err := b.Worlds.WorldConfig(ctx, "lobby")
	if err != nil || w.WorldID != "lobby" || w.Version != 0 || w.TickRateHz != coord.DefaultWorldConfig().TickRateHz {
		t.Fatalf("%+v %v", w, err)
	}

	v3 := coord.DefaultWorldConfig()
	v3.WorldID, v3.Version, v3.TickRateHz, v3.RoomCapacity, v3.EmptyGrace = "lobby", 3, 10, 40, 5*time.Second
	if err := c.Set(ctx, b.keyspace.worldConfig("lobby"), encodeWorldConfig(v3), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if b.keyspace.worldConfig("lobby") != b.cfg.Prefix+"world:{lobby}:config" {
		t.Fatal(b.keyspace.worldConfig("lobby"))
	}
	// Cached until the max age passes.
	if w, _ := b.Worlds.WorldConfig(ctx, "lobby"); w.Version != 0 {
		t.Fatalf("cache not used: %+v", w)
	}
	time.Sleep(60 * time.Millisecond)
	if w, _ := b.Worlds.WorldConfig(ctx, "lobby"); w != v3 {
		t.Fatalf("got %+v, want %+v", w, v3)
	}

	// ReloadConfig: older or equal versions are ignored, newer ones stored.
	old := v3
	old.Version, old.TickRateHz = 2, 30
	if ok, err := b.Worlds.Set(old); ok || err != nil {
		t.Fatalf("older version stored: %v %v", ok, err)
	}
	v4 := v3
	v4.Version, v4.TickRateHz = 4, 15
	if ok, err := b.Worlds.Set(v4); !ok || err != nil {
		t.Fatalf("newer version refused: %v %v", ok, err)
	}
	if w, _ := b.Worlds.WorldConfig(ctx, "lobby"); w != v4 {
		t.Fatalf("got %+v, want v4", w)
	}
	bad := v4
	bad.Version, bad.TickRateHz = 9, 0
	if _, err := b.Worlds.Set(bad); err == nil {
		t.Fatal("invalid config stored")
	}
	// Redis still holds v3: a refetch never goes back to it.
	time.Sleep(60 * time.Millisecond)
	if w, _ := b.Worlds.WorldConfig(ctx, "lobby"); w != v4 {
		t.Fatalf("went back to %+v", w)
	}
	// A newer config in Redis is picked up.
	v5 := v4
	v5.Version, v5.MaxChatBytes = 5, 100
	_ = c.Set(ctx, b.keyspace.worldConfig("lobby"), encodeWorldConfig(v5), 0).Err()
	time.Sleep(60 * time.Millisecond)
	if w, _ := b.Worlds.WorldConfig(ctx, "lobby"); w != v5 {
		t.Fatalf("got %+v, want v5", w)
	}

	// Refused from Redis: wrong identifier, wrong world, invalid values.
	buf := encodeWorldConfig(v3)
	copy(buf[4:8], "PLZH")
	_ = c.Set(ctx, b.keyspace.worldConfig("w2"), buf, 0).Err()
	other := v3
	other.WorldID = "elsewhere"
	_ = c.Set(ctx, b.keyspace.worldConfig("w3"), encodeWorldConfig(other), 0).Err()
	inv := v3
	inv.WorldID, inv.TickRateHz = "w4", 0
	_ = c.Set(ctx, b.keyspace.worldConfig("w4"), encodeWorldConfig(inv), 0).Err()
	for _, id := range []string{"w2", "w3", "w4"} {
		if w, _ := b.Worlds.WorldConfig(ctx, id); w.Version != 0 || w.WorldID != id || w.Validate() != nil {
			t.Fatalf("%s: got %+v, want the default", id, w)
		}
	}
}
