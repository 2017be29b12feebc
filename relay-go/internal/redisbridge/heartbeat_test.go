package redisbridge

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	gen "github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

func readHeartbeat(t *testing.T, b *Bridge) *gen.RelayHeartbeatT {
	t.Helper()
	buf, err := rdb(t).Get(context.Background(), b.keyspace.relayHB()).Bytes()
	if err != nil {
		t.Fatalf("heartbeat key: %v", err)
	}
	if !gen.RelayHeartbeatBufferHasIdentifier(buf) {
		t.Fatalf("heartbeat without PLZH: %q", buf[4:8])
	}
	return gen.GetRootAsRelayHeartbeat(buf, 0).UnPack()
}

func TestHeartbeatKeyTTLAndSet(t *testing.T) {
	var lost atomic.Int64
	b := newTestBridge(t, true, func(c *Config) { c.OnHeartbeatLost = func(time.Duration) { lost.Add(1) } })
	ctx := context.Background()
	started := time.Now().Add(-time.Minute)
	l := coord.Load{RelayID: "relay-t", BootID: "0123456789abcdef", PublicURL: "ws://127.0.0.1:1/ws", Region: "local", Build: "test", MaxConnections: 500,
		Connections: 7, Rooms: 2, CPUSeconds: 10, BytesOut: 1000, StartedAt: started, At: time.Now()}
	if err := b.Heartbeat.Register(ctx, l); err != nil {
		t.Fatal(err)
	}
	hb := readHeartbeat(t, b)
	if hb.State != gen.RelayStateStarting || hb.RelayId != "relay-t" || hb.CapacityConnections != 500 || hb.Connections != 7 || hb.Rooms != 2 ||
		hb.PublicUrl != l.PublicURL || hb.Region != "local" || hb.Build != "test" || hb.StartedAtMs != started.UnixMilli() || hb.BootId != "0123456789abcdef" {
		t.Fatalf("heartbeat %+v", hb)
	}
	pttl, _ := rdb(t).PTTL(ctx, b.keyspace.relayHB()).Result()
	if pttl <= 0 || pttl > 600*time.Millisecond {
		t.Fatalf("PTTL %v, want (0, 600ms] (3 × 200ms)", pttl)
	}
	if ok, _ := rdb(t).SIsMember(ctx, b.keyspace.relays(), "relay-t").Result(); !ok {
		t.Fatal("relay id not in the relays set")
	}
	if b.keyspace.relayHB() != b.cfg.Prefix+"{alloc}:relay:relay-t:hb" || b.keyspace.relays() != b.cfg.Prefix+"{alloc}:relays" {
		t.Fatalf("key names %s %s", b.keyspace.relayHB(), b.keyspace.relays())
	}

	// One second later: 0.5 CPU-seconds and 2000 bytes more.
	l2 := l
	l2.At, l2.CPUSeconds, l2.BytesOut = l.At.Add(time.Second), 10.5, 3000
	if err := b.Heartbeat.Report(ctx, l2); err != nil {
		t.Fatal(err)
	}
	hb = readHeartbeat(t, b)
	if hb.State != gen.RelayStateReady || hb.CpuPercent < 49.9 || hb.CpuPercent > 50.1 || hb.EgressBytesPerSecond != 2000 {
		t.Fatalf("heartbeat %+v", hb)
	}
	l2.Draining = true
	_ = b.Heartbeat.Report(ctx, l2)
	if hb = readHeartbeat(t, b); hb.State != gen.RelayStateDraining {
		t.Fatalf("state %v, want Draining", hb.State)
	}
	b.Heartbeat.SetStopping()
	_ = b.Heartbeat.Report(ctx, l2)
	if hb = readHeartbeat(t, b); hb.State != gen.RelayStateStopping {
		t.Fatalf("state %v, want Stopping", hb.State)
	}
	if lost.Load() != 0 {
		t.Fatal("heartbeat reported lost while it was not")
	}

	// A pause longer than the TTL: the key expired.
	time.Sleep(700 * time.Millisecond)
	if n, _ := rdb(t).Exists(ctx, b.keyspace.relayHB()).Result(); n != 0 {
		t.Fatal("heartbeat key outlived its TTL")
	}
	_ = b.Heartbeat.Report(ctx, l2)
	if lost.Load() != 1 {
		t.Fatalf("lost heartbeat noticed %d times, want 1", lost.Load())
	}

	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := b.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb(t).Exists(ctx, b.keyspace.relayHB()).Result(); n != 0 {
		t.Fatal("heartbeat key left after Shutdown")
	}
}
