"""FlatBuffers encoding of what travels through Redis (schemas/*.fbs).

The generated ``plaza.coord`` modules are the only encoders used: what this
module writes is byte-for-byte what the Go relay reads. Every buffer carries its
file identifier (``PLZW``, ``PLZH``, ``PLZC``).
"""

from __future__ import annotations

import struct
from typing import Any, Literal

import flatbuffers
import msgspec

from plaza.coord.Announce import AnnounceT
from plaza.coord.AnnounceScope import AnnounceScope
from plaza.coord.CloseRoom import CloseRoomT
from plaza.coord.CommandBody import CommandBody
from plaza.coord.Drain import DrainT
from plaza.coord.Kick import KickT
from plaza.coord.Mute import MuteT
from plaza.coord.RelayCommand import RelayCommand, RelayCommandT
from plaza.coord.RelayHeartbeat import RelayHeartbeat, RelayHeartbeatT
from plaza.coord.RelayState import RelayState
from plaza.coord.ReloadConfig import ReloadConfigT
from plaza.coord.Unmute import UnmuteT
from plaza.coord.WorldConfig import WorldConfig, WorldConfigT
from plaza_control.models import RelayInfo, WorldConfigView, WorldSettings

WORLD_CONFIG_ID = b"PLZW"
HEARTBEAT_ID = b"PLZH"
COMMAND_ID = b"PLZC"

_STATE_NAMES: dict[int, Literal["starting", "ready", "draining", "stopping"]] = {
    RelayState.Starting: "starting",
    RelayState.Ready: "ready",
    RelayState.Draining: "draining",
    RelayState.Stopping: "stopping",
}
_STATE_VALUES = {v: k for k, v in _STATE_NAMES.items()}


class CodecError(ValueError):
    """Bytes that are not the expected FlatBuffers table."""


def _finish(obj: object, ident: bytes, size: int = 256) -> bytes:
    b = flatbuffers.Builder(size)
    b.Finish(obj.Pack(b), file_identifier=ident)  # type: ignore[attr-defined]
    return bytes(b.Output())


def _world_config_t(world_id: str, version: int, s: WorldSettings) -> WorldConfigT:
    return WorldConfigT(
        worldId=world_id,
        version=version,
        roomCapacity=s.room_capacity,
        tickRateHz=s.tick_rate_hz,
        interestRadius=s.interest_radius,
        farEveryTicks=s.far_every_ticks,
        maxChatBytes=s.max_chat_bytes,
        chatsPerSecond=s.chats_per_second,
        chatBurst=s.chat_burst,
        movesPerSecond=s.moves_per_second,
        moveBurst=s.move_burst,
        emotesPerSecond=s.emotes_per_second,
        emoteBurst=s.emote_burst,
        stateSetsPerSecond=s.state_sets_per_second,
        stateSetBurst=s.state_set_burst,
        maxStateKeyBytes=s.max_state_key_bytes,
        maxStateValueBytes=s.max_state_value_bytes,
        maxStateKeys=s.max_state_keys,
        emptyGraceSeconds=s.empty_grace_seconds,
    )


def encode_world_config(world_id: str, version: int, settings: WorldSettings) -> bytes:
    return _finish(_world_config_t(world_id, version, settings), WORLD_CONFIG_ID)


def decode_world_config(buf: bytes) -> WorldConfigView:
    if len(buf) < 8 or not WorldConfig.WorldConfigBufferHasIdentifier(buf, 0, False):
        raise CodecError("not a WorldConfig buffer")
    try:
        c = WorldConfig.GetRootAs(buf, 0)
        # float32 round trip: keep the decimal the operator wrote, as far as float32 can.
        settings = WorldSettings(
            room_capacity=c.RoomCapacity(),
            tick_rate_hz=c.TickRateHz(),
            interest_radius=_f32(c.InterestRadius()),
            far_every_ticks=c.FarEveryTicks(),
            max_chat_bytes=c.MaxChatBytes(),
            chats_per_second=_f32(c.ChatsPerSecond()),
            chat_burst=c.ChatBurst(),
            moves_per_second=_f32(c.MovesPerSecond()),
            move_burst=c.MoveBurst(),
            emotes_per_second=_f32(c.EmotesPerSecond()),
            emote_burst=c.EmoteBurst(),
            state_sets_per_second=_f32(c.StateSetsPerSecond()),
            state_set_burst=c.StateSetBurst(),
            max_state_key_bytes=c.MaxStateKeyBytes(),
            max_state_value_bytes=c.MaxStateValueBytes(),
            max_state_keys=c.MaxStateKeys(),
            empty_grace_seconds=c.EmptyGraceSeconds(),
        )
        return WorldConfigView(world_id=_s(c.WorldId()), version=c.Version(), settings=settings)
    except (IndexError, ValueError, UnicodeDecodeError, struct.error) as exc:
        raise CodecError("corrupt WorldConfig buffer") from exc


def _s(v: bytes | str | None) -> str:
    """Generated readers return bytes for strings; schema strings are UTF-8."""
    if v is None:
        return ""
    return v.decode("utf-8") if isinstance(v, bytes) else v


def _f32(v: float) -> float:
    return float(f"{v:.7g}")


def encode_heartbeat(info: RelayInfo) -> bytes:
    """Build a RelayHeartbeat the way a relay does (used by tests and dev tools)."""
    t = RelayHeartbeatT(
        relayId=info.relay_id,
        publicUrl=info.public_url,
        region=info.region,
        state=_STATE_VALUES[info.state],
        capacityConnections=info.capacity_connections,
        connections=info.connections,
        rooms=info.rooms,
        cpuPercent=info.cpu_percent,
        egressBytesPerSecond=info.egress_bytes_per_second,
        sentAtMs=info.sent_at_ms,
        build=info.build,
        startedAtMs=info.started_at_ms,
    )
    return _finish(t, HEARTBEAT_ID)


def decode_heartbeat(buf: bytes) -> RelayInfo:
    if len(buf) < 8 or not RelayHeartbeat.RelayHeartbeatBufferHasIdentifier(buf, 0, False):
        raise CodecError("not a RelayHeartbeat buffer")
    try:
        h = RelayHeartbeat.GetRootAs(buf, 0)
        return RelayInfo(
            relay_id=_s(h.RelayId()),
            public_url=_s(h.PublicUrl()),
            region=_s(h.Region()),
            state=_STATE_NAMES.get(h.State(), "stopping"),
            capacity_connections=h.CapacityConnections(),
            connections=h.Connections(),
            rooms=h.Rooms(),
            cpu_percent=_f32(h.CpuPercent()),
            egress_bytes_per_second=h.EgressBytesPerSecond(),
            sent_at_ms=h.SentAtMs(),
            build=_s(h.Build()),
            started_at_ms=h.StartedAtMs(),
        )
    except (IndexError, ValueError, UnicodeDecodeError, struct.error) as exc:
        raise CodecError("corrupt RelayHeartbeat buffer") from exc


# Command bodies: the service's vocabulary, turned into the schema's union here.


class KickBody(msgspec.Struct, frozen=True, tag="kick"):
    room_id: str
    user_id: str
    reason: str


class MuteBody(msgspec.Struct, frozen=True, tag="mute"):
    room_id: str
    user_id: str
    duration_seconds: int
    reason: str


class UnmuteBody(msgspec.Struct, frozen=True, tag="unmute"):
    room_id: str
    user_id: str


class CloseRoomBody(msgspec.Struct, frozen=True, tag="close_room"):
    room_id: str
    reason: str


class AnnounceBody(msgspec.Struct, frozen=True, tag="announce"):
    scope: Literal["room", "world", "everyone"]
    room_id: str
    world_id: str
    text: str


class DrainBody(msgspec.Struct, frozen=True, tag="drain"):
    deadline_seconds: int
    reason: str


class ReloadConfigBody(msgspec.Struct, frozen=True, tag="reload_config"):
    world_id: str
    version: int
    settings: WorldSettings


CommandBodyT = (
    KickBody | MuteBody | UnmuteBody | CloseRoomBody | AnnounceBody | DrainBody | ReloadConfigBody
)

_SCOPES = {
    "room": AnnounceScope.Room,
    "world": AnnounceScope.World,
    "everyone": AnnounceScope.Everyone,
}


def _body_t(body: CommandBodyT) -> tuple[int, Any]:
    match body:
        case KickBody():
            return CommandBody.Kick, KickT(
                roomId=body.room_id, userId=body.user_id, reason=body.reason
            )
        case MuteBody():
            return CommandBody.Mute, MuteT(
                roomId=body.room_id,
                userId=body.user_id,
                durationSeconds=body.duration_seconds,
                reason=body.reason,
            )
        case UnmuteBody():
            return CommandBody.Unmute, UnmuteT(roomId=body.room_id, userId=body.user_id)
        case CloseRoomBody():
            return CommandBody.CloseRoom, CloseRoomT(roomId=body.room_id, reason=body.reason)
        case AnnounceBody():
            return CommandBody.Announce, AnnounceT(
                scope=_SCOPES[body.scope],
                roomId=body.room_id,
                worldId=body.world_id,
                text=body.text,
            )
        case DrainBody():
            return CommandBody.Drain, DrainT(
                deadlineSeconds=body.deadline_seconds, reason=body.reason
            )
        case ReloadConfigBody():
            return CommandBody.ReloadConfig, ReloadConfigT(
                config=_world_config_t(body.world_id, body.version, body.settings)
            )
    raise TypeError(body)


def encode_command(
    command_id: str, target_relay_id: str, issued_by: str, issued_at_ms: int, body: CommandBodyT
) -> bytes:
    body_type, body_t = _body_t(body)
    t = RelayCommandT(
        commandId=command_id,
        targetRelayId=target_relay_id,
        issuedBy=issued_by,
        issuedAtMs=issued_at_ms,
        bodyType=body_type,
        body=body_t,
    )
    return _finish(t, COMMAND_ID)


def decode_command(buf: bytes) -> RelayCommandT:
    """Decode with the object API (tests and tools; relays decode in Go)."""
    if len(buf) < 8 or not RelayCommand.RelayCommandBufferHasIdentifier(buf, 0, False):
        raise CodecError("not a RelayCommand buffer")
    return RelayCommandT.InitFromPackedBuf(buf, 0)
