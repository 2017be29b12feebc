package redisbridge

import (
	"context"
	"sync"
	"testing"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/prometheus/client_golang/prometheus/testutil"

	gen "github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// encodeCommand builds a PLZC RelayCommand as the control plane does.
func encodeCommand(id, target string, body *gen.CommandBodyT) []byte {
	b := flatbuffers.NewBuilder(256)
	t := &gen.RelayCommandT{CommandId: id, TargetRelayId: target, IssuedBy: "op-1", IssuedAtMs: 1700000000000, Body: body}
	gen.FinishRelayCommandBuffer(b, t.Pack(b))
	return b.FinishedBytes()
}

// recorder is a CommandHandler that records what it ran.
type recorder struct {
	mu  sync.Mutex
	got []coord.Command
}

func (r *recorder) handle(_ context.Context, c coord.Command) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, c)
	return "done " + c.ID, nil
}

func (r *recorder) commands() []coord.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]coord.Command(nil), r.got...)
}

func runCommands(t *testing.T, b *Bridge, r *recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Commands.Run(ctx, r.handle) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	eventually(t, 5*time.Second, "subscribed", b.Commands.Subscribed)
}

// ackFor waits for the CommandAck of id on the stream.
func ackFor(t *testing.T, b *Bridge, id string) *gen.CommandAckT {
	t.Helper()
	var ack *gen.CommandAckT
	eventually(t, 5*time.Second, "ack of "+id, func() bool {
		for _, e := range readEvents(t, b) {
			if a, ok := e.Body.Value.(*gen.CommandAckT); ok && a.CommandId == id {
				ack = a
				return true
			}
		}
		return false
	})
	return ack
}

func TestCommandsHandledAndAcked(t *testing.T) {
	b := newTestBridge(t, true, nil)
	var r recorder
	runCommands(t, b, &r)
	ctx := context.Background()
	c := rdb(t)

	kick := encodeCommand("c-kick", "relay-t", &gen.CommandBodyT{Type: gen.CommandBodyKick, Value: &gen.KickT{RoomId: "room-1", UserId: "u_x", Reason: "spam"}})
	if err := c.Publish(ctx, b.keyspace.cmdRelay(), kick).Err(); err != nil {
		t.Fatal(err)
	}
	ack := ackFor(t, b, "c-kick")
	if !ack.Ok || ack.Detail != "done c-kick" {
		t.Fatalf("ack %+v", ack)
	}
	got := r.commands()
	if len(got) != 1 || got[0].Kind != coord.CommandKick || got[0].RoomID != "room-1" || got[0].UserID != "u_x" || got[0].Reason != "spam" || got[0].IssuedBy != "op-1" {
		t.Fatalf("handled %+v", got)
	}

	// Broadcast on cmd:all, a command for another relay (ignored), garbage
	// (refused), then a mute: only the broadcast and the mute run, in order.
	wc := coord.DefaultWorldConfig()
	wc.WorldID, wc.Version = "lobby", 7
	reload := encodeCommand("c-reload", "", &gen.CommandBodyT{Type: gen.CommandBodyReloadConfig, Value: &gen.ReloadConfigT{Config: worldToT(wc)}})
	other := encodeCommand("c-other", "relay-other", &gen.CommandBodyT{Type: gen.CommandBodyDrain, Value: &gen.DrainT{DeadlineSeconds: 5}})
	mute := encodeCommand("c-mute", "relay-t", &gen.CommandBodyT{Type: gen.CommandBodyMute, Value: &gen.MuteT{UserId: "u_y", DurationSeconds: 60}})
	_ = c.Publish(ctx, b.keyspace.cmdAll(), reload).Err()
	_ = c.Publish(ctx, b.keyspace.cmdAll(), other).Err()
	_ = c.Publish(ctx, b.keyspace.cmdRelay(), []byte("not a flatbuffer at all")).Err()
	bad := append([]byte(nil), kick...)
	copy(bad[4:8], "PLZX") // wrong file identifier
	_ = c.Publish(ctx, b.keyspace.cmdRelay(), bad).Err()
	_ = c.Publish(ctx, b.keyspace.cmdRelay(), mute).Err()
	ackFor(t, b, "c-mute")
	got = r.commands()
	if len(got) != 3 || got[1].Kind != coord.CommandReloadConfig || got[1].Config != wc || got[2].Kind != coord.CommandMute || got[2].Duration != time.Minute || got[2].UserID != "u_y" {
		t.Fatalf("handled %+v", got)
	}
	if n := testutil.ToFloat64(b.metrics.commands.WithLabelValues("ignored")); n != 1 {
		t.Fatalf("ignored %v", n)
	}
	if n := testutil.ToFloat64(b.metrics.commands.WithLabelValues("invalid")); n != 2 {
		t.Fatalf("invalid %v", n)
	}
	for _, e := range readEvents(t, b) {
		if a, ok := e.Body.Value.(*gen.CommandAckT); ok && a.CommandId == "c-other" {
			t.Fatal("a command for another relay was acknowledged")
		}
	}
}

func TestCommandsResubscribeAfterRedisRestart(t *testing.T) {
	b := newTestBridge(t, true, nil)
	var r recorder
	runCommands(t, b, &r)
	ctx := context.Background()
	eventually(t, 3*time.Second, "ready", func() bool { return b.Commands.Ready(ctx) == nil })

	stopRedis()
	eventually(t, 10*time.Second, "subscription lost", func() bool { return !b.Commands.Subscribed() })
	if b.Commands.Ready(ctx) == nil {
		t.Fatal("ready while redis is down")
	}
	if err := startRedis(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "re-subscribed", b.Commands.Subscribed)
	cmd := encodeCommand("c-after", "", &gen.CommandBodyT{Type: gen.CommandBodyAnnounce, Value: &gen.AnnounceT{Scope: gen.AnnounceScopeEveryone, Text: "back"}})
	if err := rdb(t).Publish(ctx, b.keyspace.cmdAll(), cmd).Err(); err != nil {
		t.Fatal(err)
	}
	ack := ackFor(t, b, "c-after")
	if !ack.Ok {
		t.Fatalf("ack %+v", ack)
	}
	if got := r.commands(); len(got) != 1 || got[0].Kind != coord.CommandAnnounce || got[0].Scope != coord.ScopeEveryone || got[0].Text != "back" {
		t.Fatalf("handled %+v", got)
	}
}
