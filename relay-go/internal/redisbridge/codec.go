package redisbridge

import (
	"fmt"
	"sort"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"

	gen "github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// File identifiers (docs/redis.md, "Conventions").
const (
	identHeartbeat = "PLZH"
	identWorld     = "PLZW"
	identCommand   = "PLZC"
	identEvent     = "PLZE"
)

// encodeEvent builds a plaza.coord.RoomEvent finished with PLZE. The
// returned slice aliases b's buffer until b is reset.
func encodeEvent(b *flatbuffers.Builder, id, relayID string, e *coord.Event) []byte {
	b.Reset()
	ev := &gen.RoomEventT{EventId: id, RelayId: relayID, RoomId: e.RoomID, WorldId: e.WorldID, OccurredAtMs: e.OccurredAt.UnixMilli(), RoomLifetime: e.RoomLifetime}
	switch e.Kind {
	case coord.EventMemberJoined:
		ev.Body = &gen.EventBodyT{Type: gen.EventBodyMemberJoinedEvent, Value: &gen.MemberJoinedEventT{UserId: e.UserID, MemberId: e.MemberID, DisplayName: e.DisplayName, SessionId: e.SessionID}}
	case coord.EventMemberLeft:
		ev.Body = &gen.EventBodyT{Type: gen.EventBodyMemberLeftEvent, Value: &gen.MemberLeftEventT{UserId: e.UserID, MemberId: e.MemberID, SessionId: e.SessionID, Reason: e.LeaveReason, DurationMs: e.Duration.Milliseconds()}}
	case coord.EventChat:
		ev.Body = &gen.EventBodyT{Type: gen.EventBodyChatMessageEvent, Value: &gen.ChatMessageEventT{Sequence: e.Sequence, UserId: e.UserID, DisplayName: e.DisplayName, Text: e.Text}}
	case coord.EventStateChanged:
		ev.Body = &gen.EventBodyT{Type: gen.EventBodyStateChangedEvent, Value: &gen.StateChangedEventT{Sequence: e.Sequence, Deleted: e.Deleted,
			Entry: &protocol.StateEntryT{Key: e.Key, Value: e.Value, Version: e.Version, UpdatedBy: e.By}}}
	case coord.EventRoomClosed:
		ev.Body = &gen.EventBodyT{Type: gen.EventBodyRoomClosedEvent, Value: &gen.RoomClosedEventT{Reason: e.Reason, LastSequence: e.Sequence}}
	case coord.EventCommandAck:
		ev.Body = &gen.EventBodyT{Type: gen.EventBodyCommandAck, Value: &gen.CommandAckT{CommandId: e.CommandID, Ok: e.OK, Detail: e.Detail}}
	}
	gen.FinishRoomEventBuffer(b, ev.Pack(b))
	return b.FinishedBytes()
}

// heartbeatState is what a relay reports in its heartbeat.
func encodeHeartbeat(b *flatbuffers.Builder, l coord.Load, state gen.RelayState, cpuPercent float32, egress uint64) []byte {
	b.Reset()
	hb := &gen.RelayHeartbeatT{
		RelayId: l.RelayID, PublicUrl: l.PublicURL, Region: l.Region, State: state,
		CapacityConnections: clampU32(l.MaxConnections), Connections: clampU32(l.Connections), Rooms: clampU32(l.Rooms),
		CpuPercent: cpuPercent, EgressBytesPerSecond: egress, SentAtMs: l.At.UnixMilli(), Build: l.Build, StartedAtMs: l.StartedAt.UnixMilli(),
		BootId: l.BootID,
	}
	gen.FinishRelayHeartbeatBuffer(b, hb.Pack(b))
	return append([]byte(nil), b.FinishedBytes()...)
}

func clampU32(n int) uint32 {
	if n < 0 {
		return 0
	}
	if n > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(n)
}

// encodeSnapshot builds a plaza.coord.RoomStateSnapshot finished WITHOUT a
// file identifier (the schema's identifier belongs to RoomEvent). Entries
// are written in key order.
func encodeSnapshot(s coord.RoomSnapshot) []byte {
	b := flatbuffers.NewBuilder(256 + 64*len(s.Entries))
	t := &gen.RoomStateSnapshotT{RoomId: s.RoomID, WorldId: s.WorldID, Sequence: s.Sequence, SavedAtMs: s.SavedAt.UnixMilli(), RelayId: s.RelayID, RoomLifetime: s.RoomLifetime, Final: s.Final}
	entries := append([]coord.StateEntry(nil), s.Entries...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
	for _, e := range entries {
		t.Entries = append(t.Entries, &protocol.StateEntryT{Key: e.Key, Value: e.Value, Version: e.Version, UpdatedBy: e.UpdatedBy})
	}
	b.Finish(t.Pack(b))
	return b.FinishedBytes()
}

// decodeSnapshot verifies and decodes a RoomStateSnapshot.
func decodeSnapshot(buf []byte) (coord.RoomSnapshot, error) {
	if err := verify(buf, snapshotLayout, ""); err != nil {
		return coord.RoomSnapshot{}, fmt.Errorf("decode room snapshot: %w", err)
	}
	t := gen.GetRootAsRoomStateSnapshot(buf, 0).UnPack()
	s := coord.RoomSnapshot{RoomID: t.RoomId, WorldID: t.WorldId, Sequence: t.Sequence, SavedAt: time.UnixMilli(t.SavedAtMs), RelayID: t.RelayId, RoomLifetime: t.RoomLifetime, Final: t.Final}
	for _, e := range t.Entries {
		if e == nil {
			continue
		}
		s.Entries = append(s.Entries, coord.StateEntry{Key: e.Key, Value: e.Value, Version: e.Version, UpdatedBy: e.UpdatedBy})
	}
	return s, nil
}

// decodeWorldConfig verifies (PLZW) and decodes a WorldConfig. It does not
// validate the values; callers do (coord.WorldConfig.Validate).
func decodeWorldConfig(buf []byte) (coord.WorldConfig, error) {
	if err := verify(buf, worldConfigLayout, identWorld); err != nil {
		return coord.WorldConfig{}, fmt.Errorf("decode world config: %w", err)
	}
	return worldFromT(gen.GetRootAsWorldConfig(buf, 0).UnPack()), nil
}

func worldFromT(t *gen.WorldConfigT) coord.WorldConfig {
	return coord.WorldConfig{
		WorldID: t.WorldId, Version: t.Version, RoomCapacity: int(t.RoomCapacity), TickRateHz: int(t.TickRateHz),
		InterestRadius: t.InterestRadius, FarEveryTicks: int(t.FarEveryTicks), MaxChatBytes: int(t.MaxChatBytes),
		ChatsPerSecond: float64(t.ChatsPerSecond), ChatBurst: int(t.ChatBurst),
		MovesPerSecond: float64(t.MovesPerSecond), MoveBurst: int(t.MoveBurst),
		EmotesPerSecond: float64(t.EmotesPerSecond), EmoteBurst: int(t.EmoteBurst),
		StateSetsPerSecond: float64(t.StateSetsPerSecond), StateSetBurst: int(t.StateSetBurst),
		MaxStateKeyBytes: int(t.MaxStateKeyBytes), MaxStateValueBytes: int(t.MaxStateValueBytes), MaxStateKeys: int(t.MaxStateKeys),
		EmptyGrace: time.Duration(t.EmptyGraceSeconds) * time.Second,
	}
}

// encodeWorldConfig builds a PLZW WorldConfig (tests, and symmetry with the
// control plane's writer).
func encodeWorldConfig(w coord.WorldConfig) []byte {
	b := flatbuffers.NewBuilder(256)
	gen.FinishWorldConfigBuffer(b, worldToT(w).Pack(b))
	return b.FinishedBytes()
}

func worldToT(w coord.WorldConfig) *gen.WorldConfigT {
	return &gen.WorldConfigT{
		WorldId: w.WorldID, Version: w.Version, RoomCapacity: uint16(w.RoomCapacity), TickRateHz: uint16(w.TickRateHz),
		InterestRadius: w.InterestRadius, FarEveryTicks: uint16(w.FarEveryTicks), MaxChatBytes: uint16(w.MaxChatBytes),
		ChatsPerSecond: float32(w.ChatsPerSecond), ChatBurst: uint16(w.ChatBurst),
		MovesPerSecond: float32(w.MovesPerSecond), MoveBurst: uint16(w.MoveBurst),
		EmotesPerSecond: float32(w.EmotesPerSecond), EmoteBurst: uint16(w.EmoteBurst),
		StateSetsPerSecond: float32(w.StateSetsPerSecond), StateSetBurst: uint16(w.StateSetBurst),
		MaxStateKeyBytes: uint16(w.MaxStateKeyBytes), MaxStateValueBytes: uint32(w.MaxStateValueBytes), MaxStateKeys: uint16(w.MaxStateKeys),
		EmptyGraceSeconds: uint16(w.EmptyGrace / time.Second),
	}
}

// decodedCommand is a RelayCommand after verification: the target and the
// coord.Command (Kind 0 when the body is NONE or unknown to this build).
type decodedCommand struct {
	Target string
	Cmd    coord.Command
}

// decodeCommand verifies (PLZC) and decodes a RelayCommand.
func decodeCommand(buf []byte) (decodedCommand, error) {
	if err := verify(buf, commandLayout, identCommand); err != nil {
		return decodedCommand{}, fmt.Errorf("decode command: %w", err)
	}
	t := gen.GetRootAsRelayCommand(buf, 0).UnPack()
	d := decodedCommand{Target: t.TargetRelayId, Cmd: coord.Command{ID: t.CommandId, IssuedBy: t.IssuedBy}}
	if t.Body == nil {
		return d, nil
	}
	c := &d.Cmd
	switch v := t.Body.Value.(type) {
	case *gen.KickT:
		c.Kind, c.RoomID, c.UserID, c.Reason, c.Banned = coord.CommandKick, v.RoomId, v.UserId, v.Reason, v.Banned
	case *gen.MuteT:
		c.Kind, c.RoomID, c.UserID, c.Reason = coord.CommandMute, v.RoomId, v.UserId, v.Reason
		c.Duration = time.Duration(v.DurationSeconds) * time.Second
	case *gen.UnmuteT:
		c.Kind, c.RoomID, c.UserID = coord.CommandUnmute, v.RoomId, v.UserId
	case *gen.CloseRoomT:
		c.Kind, c.RoomID, c.Reason = coord.CommandCloseRoom, v.RoomId, v.Reason
	case *gen.AnnounceT:
		c.Kind, c.RoomID, c.WorldID, c.Text = coord.CommandAnnounce, v.RoomId, v.WorldId, v.Text
		c.Scope = coord.AnnounceScope(v.Scope)
	case *gen.DrainT:
		c.Kind, c.Reason = coord.CommandDrain, v.Reason
		c.Duration = time.Duration(v.DeadlineSeconds) * time.Second
	case *gen.ReloadConfigT:
		c.Kind = coord.CommandReloadConfig
		if v.Config != nil {
			c.Config = worldFromT(v.Config)
		}
	}
	return d, nil
}

// kindName labels commands in metrics.
func kindName(k coord.CommandKind) string {
	switch k {
	case coord.CommandKick:
		return "kick"
	case coord.CommandMute:
		return "mute"
	case coord.CommandUnmute:
		return "unmute"
	case coord.CommandCloseRoom:
		return "close_room"
	case coord.CommandAnnounce:
		return "announce"
	case coord.CommandDrain:
		return "drain"
	case coord.CommandReloadConfig:
		return "reload_config"
	}
	return "unknown"
}
