"""The one FlatBuffers codec of the control plane: what travels through Redis
(schemas/*.fbs) to and from the records of ``plaza_control.models``.

World configs (``PLZW``), relay heartbeats (``PLZH``), relay commands (``PLZC``)
and room events (``PLZE``). The generated ``plaza.*`` modules are the only
encoders and decoders used: what this module writes is byte-for-byte what the
Go relay's generated builders write. Every buffer carries its file identifier.
This module only translates; the records and their rules live elsewhere.
Every ``decode_*`` raises ``CodecError`` (never anything else) for bytes that
are not a valid buffer of its table.
"""

from __future__ import annotations

import re
import struct
from typing import Any, Literal

import flatbuffers

from plaza.common.LeaveReason import LeaveReason
from plaza.coord.Announce import AnnounceT
from plaza.coord.AnnounceScope import AnnounceScope
from plaza.coord.ChatMessageEvent import ChatMessageEventT
from plaza.coord.CloseRoom import CloseRoomT
from plaza.coord.CommandAck import CommandAckT
from plaza.coord.CommandBody import CommandBody
from plaza.coord.Drain import DrainT
from plaza.coord.EventBody import EventBody
from plaza.coord.Kick import KickT
from plaza.coord.MemberJoinedEvent import MemberJoinedEventT
from plaza.coord.MemberLeftEvent import MemberLeftEventT
from plaza.coord.Mute import MuteT
from plaza.coord.RelayCommand import RelayCommand, RelayCommandT
from plaza.coord.RelayHeartbeat import RelayHeartbeat, RelayHeartbeatT
from plaza.coord.RelayState import RelayState
from plaza.coord.ReloadConfig import ReloadConfigT
from plaza.coord.RoomClosedEvent import RoomClosedEventT
from plaza.coord.RoomEvent import RoomEvent as RoomEventFb
from plaza.coord.RoomEvent import RoomEventT
from plaza.coord.RoomStateSnapshot import RoomStateSnapshot as RoomStateSnapshotFb
from plaza.coord.StateChangedEvent import StateChangedEventT
from plaza.coord.Unmute import UnmuteT
from plaza.coord.WorldConfig import WorldConfig, WorldConfigT
from plaza.protocol.StateEntry import StateEntryT
from plaza_control.models import (
    AnnounceBody,
    ChatMessage,
    CloseRoomBody,
    CommandAcked,
    CommandBodyT,
    DrainBody,
    EventBodyT,
    KickBody,
    MemberJoined,
    MemberLeft,
    MuteBody,
    RelayInfo,
    ReloadConfigBody,
    RoomClosed,
    RoomEvent,
    RoomStateSnapshot,
    StateChanged,
    StateKey,
    UnmuteBody,
    WorldConfigView,
    WorldSettings,
)

WORLD_CONFIG_ID = b"PLZW"
HEARTBEAT_ID = b"PLZH"
COMMAND_ID = b"PLZC"
ROOM_EVENT_ID = b"PLZE"

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
        bootId=info.boot_id or None,
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
            boot_id=_s(h.BootId()),
        )
    except (IndexError, ValueError, UnicodeDecodeError, struct.error) as exc:
        raise CodecError("corrupt RelayHeartbeat buffer") from exc


def decode_room_state(buf: bytes) -> RoomStateSnapshot:
    """``P room:{<id>}:snapshot``: a ``RoomStateSnapshot`` root finished without a
    file identifier (the schema's belongs to ``RoomEvent``). Values are not
    copied, only their length."""
    if len(buf) < 8:
        raise CodecError("not a RoomStateSnapshot buffer")
    try:
        t = RoomStateSnapshotFb.GetRootAs(buf, 0)
        keys: list[StateKey] = []
        for i in range(t.EntriesLength()):
            e = t.Entries(i)
            if e is None:
                continue
            keys.append(
                StateKey(
                    key=_s(e.Key()),
                    version=e.Version(),
                    updated_by=e.UpdatedBy(),
                    value_bytes=e.ValueLength(),
                )
            )
        return RoomStateSnapshot(
            room_id=_s(t.RoomId()),
            world_id=_s(t.WorldId()),
            relay_id=_s(t.RelayId()),
            sequence=t.Sequence(),
            saved_at_ms=t.SavedAtMs(),
            room_lifetime=t.RoomLifetime(),
            keys=keys,
        )
    except (IndexError, ValueError, UnicodeDecodeError, struct.error) as exc:
        raise CodecError("corrupt RoomStateSnapshot buffer") from exc


_SCOPES = {
    "room": AnnounceScope.Room,
    "world": AnnounceScope.World,
    "everyone": AnnounceScope.Everyone,
}


def _command_body_t(body: CommandBodyT) -> tuple[int, Any]:
    match body:
        case KickBody():
            return CommandBody.Kick, KickT(
                roomId=body.room_id, userId=body.user_id, reason=body.reason, banned=body.banned
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
    body_type, body_t = _command_body_t(body)
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


# Room events.

_LEAVE_NAMES: dict[int, str] = {
    v: re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower()
    for k, v in vars(LeaveReason).items()
    if not k.startswith("_") and isinstance(v, int)
}
_LEAVE_VALUES = {v: k for k, v in _LEAVE_NAMES.items()}


def _event_body(body_type: int, b: Any) -> EventBodyT:
    if b is None:
        raise CodecError(f"RoomEvent body type {body_type} is unknown or empty")
    if body_type == EventBody.MemberJoinedEvent:
        return MemberJoined(
            user_id=_s(b.userId),
            member_id=b.memberId,
            display_name=_s(b.displayName),
            session_id=_s(b.sessionId),
        )
    if body_type == EventBody.MemberLeftEvent:
        return MemberLeft(
            user_id=_s(b.userId),
            member_id=b.memberId,
            session_id=_s(b.sessionId),
            reason=_LEAVE_NAMES.get(b.reason, f"reason_{b.reason}"),
            duration_ms=b.durationMs,
        )
    if body_type == EventBody.ChatMessageEvent:
        return ChatMessage(
            sequence=b.sequence,
            user_id=_s(b.userId),
            display_name=_s(b.displayName),
            text=_s(b.text),
        )
    if body_type == EventBody.StateChangedEvent:
        e = b.entry
        return StateChanged(
            sequence=b.sequence,
            key="" if e is None else _s(e.key),
            version=0 if e is None else e.version,
            value_bytes=0 if e is None or e.value is None else len(e.value),
            deleted=bool(b.deleted),
        )
    if body_type == EventBody.RoomClosedEvent:
        return RoomClosed(reason=_s(b.reason), last_sequence=b.lastSequence)
    if body_type == EventBody.CommandAck:
        return CommandAcked(command_id=_s(b.commandId), ok=bool(b.ok), detail=_s(b.detail))
    raise CodecError(f"RoomEvent body type {body_type} is unknown")


def decode_room_event(buf: bytes) -> RoomEvent:
    """Decode one ``PLZE`` buffer. ``CodecError`` for anything else: wrong
    identifier, truncated or corrupt bytes, invalid UTF-8, no event id, no body."""
    if len(buf) < 8 or not RoomEventFb.RoomEventBufferHasIdentifier(buf, 0, False):
        raise CodecError("not a RoomEvent buffer")
    try:
        t = RoomEventT.InitFromPackedBuf(buf, 0)
        event = RoomEvent(
            event_id=_s(t.eventId),
            relay_id=_s(t.relayId),
            room_id=_s(t.roomId),
            world_id=_s(t.worldId),
            occurred_at_ms=t.occurredAtMs,
            body=_event_body(t.bodyType, t.body),
            room_lifetime=t.roomLifetime,
        )
    except CodecError:
        raise
    except (IndexError, ValueError, TypeError, UnicodeDecodeError, struct.error) as exc:
        raise CodecError(f"corrupt RoomEvent buffer: {type(exc).__name__}") from exc
    if not event.event_id:
        raise CodecError("RoomEvent without event_id")
    return event


def _event_body_t(body: EventBodyT) -> tuple[int, Any]:
    if isinstance(body, MemberJoined):
        return EventBody.MemberJoinedEvent, MemberJoinedEventT(
            userId=body.user_id,
            memberId=body.member_id,
            displayName=body.display_name,
            sessionId=body.session_id,
        )
    if isinstance(body, MemberLeft):
        return EventBody.MemberLeftEvent, MemberLeftEventT(
            userId=body.user_id,
            memberId=body.member_id,
            sessionId=body.session_id,
            reason=_LEAVE_VALUES.get(body.reason, 0),
            durationMs=body.duration_ms,
        )
    if isinstance(body, ChatMessage):
        return EventBody.ChatMessageEvent, ChatMessageEventT(
            sequence=body.sequence,
            userId=body.user_id,
            displayName=body.display_name,
            text=body.text,
        )
    if isinstance(body, StateChanged):
        entry = StateEntryT(key=body.key, value=[0] * body.value_bytes, version=body.version)
        return EventBody.StateChangedEvent, StateChangedEventT(
            sequence=body.sequence, entry=entry, deleted=body.deleted
        )
    if isinstance(body, RoomClosed):
        return EventBody.RoomClosedEvent, RoomClosedEventT(
            reason=body.reason, lastSequence=body.last_sequence
        )
    return EventBody.CommandAck, CommandAckT(
        commandId=body.command_id, ok=body.ok, detail=body.detail
    )


def encode_room_event(event: RoomEvent) -> bytes:
    """What a relay XADDs (field ``e``): tests, tools and the demo use it."""
    body_type, body_t = _event_body_t(event.body)
    t: Any = RoomEventT(
        eventId=event.event_id,
        relayId=event.relay_id,
        roomId=event.room_id,
        worldId=event.world_id,
        occurredAtMs=event.occurred_at_ms,
        bodyType=body_type,
        body=body_t,
        roomLifetime=event.room_lifetime,
    )
    return _finish(t, ROOM_EVENT_ID)
