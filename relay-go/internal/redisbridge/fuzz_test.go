package redisbridge

import (
	"testing"

	gen "github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// Decoders of bytes read from Redis must refuse, never panic.

func FuzzDecodeCommand(f *testing.F) {
	wc := coord.DefaultWorldConfig()
	wc.WorldID, wc.Version = "lobby", 2
	f.Add(encodeCommand("c1", "r1", &gen.CommandBodyT{Type: gen.CommandBodyKick, Value: &gen.KickT{RoomId: "a", UserId: "b", Reason: "c"}}))
	f.Add(encodeCommand("c2", "", &gen.CommandBodyT{Type: gen.CommandBodyReloadConfig, Value: &gen.ReloadConfigT{Config: worldToT(wc)}}))
	f.Add(encodeCommand("c3", "", &gen.CommandBodyT{Type: gen.CommandBodyAnnounce, Value: &gen.AnnounceT{Scope: gen.AnnounceScopeWorld, WorldId: "w", Text: "hi"}}))
	f.Add(encodeCommand("c4", "", nil))
	f.Add([]byte("PLZC"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeCommand(b)
	})
}

func FuzzDecodeWorldConfig(f *testing.F) {
	wc := coord.DefaultWorldConfig()
	wc.WorldID = "lobby"
	f.Add(encodeWorldConfig(wc))
	f.Fuzz(func(t *testing.T, b []byte) {
		if w, err := decodeWorldConfig(b); err == nil {
			_ = w.Validate()
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(encodeSnapshot(coord.RoomSnapshot{RoomID: "r", WorldID: "w", Sequence: 3, Entries: []coord.StateEntry{{Key: "k", Value: []byte("v"), Version: 1}, {Key: "j"}}}))
	f.Add(encodeSnapshot(coord.RoomSnapshot{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeSnapshot(b)
	})
}

func TestDecodersRoundTrip(t *testing.T) {
	wc := coord.DefaultWorldConfig()
	wc.WorldID, wc.Version = "lobby", 3
	w, err := decodeWorldConfig(encodeWorldConfig(wc))
	if err != nil || w != wc {
		t.Fatalf("%+v %v", w, err)
	}
	s := coord.RoomSnapshot{RoomID: "r", WorldID: "w", Sequence: 3, Entries: []coord.StateEntry{{Key: "k", Value: []byte("v"), Version: 1, UpdatedBy: 2}}, RelayID: "x", RoomLifetime: 1 << 40}
	got, err := decodeSnapshot(encodeSnapshot(s))
	if err != nil || got.RoomID != "r" || got.Sequence != 3 || got.RoomLifetime != 1<<40 || len(got.Entries) != 1 || string(got.Entries[0].Value) != "v" || got.Entries[0].UpdatedBy != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	// Truncations of a valid command are refused, never a panic.
	full := encodeCommand("c2", "", &gen.CommandBodyT{Type: gen.CommandBodyReloadConfig, Value: &gen.ReloadConfigT{Config: worldToT(wc)}})
	for n := 0; n < len(full); n++ {
		_, _ = decodeCommand(full[:n])
	}
	if d, err := decodeCommand(full); err != nil || d.Cmd.Config != wc {
		t.Fatalf("%+v %v", d, err)
	}
}
