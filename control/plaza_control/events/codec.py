"""``plaza.coord.RoomEvent`` (schemas/room_event.fbs, identifier ``PLZE``) to and
from msgspec structs. The generated object API is the only decoder and encoder:
what ``encode`` writes is what the Go relay's generated builder writes."""

from __future__ import annotations

import re
import struct
from typing import Any

import flatbuffers
import msgspec

from plaza.common.LeaveReason import LeaveReason
from plaza.coord.ChatMessageEvent import ChatMessageEventT
from plaza.coord.CommandAck import CommandAckT
from plaza.coord.EventBody import EventBody
from plaza.coord.MemberJoinedEvent import MemberJoinedEventT
from plaza.coord.MemberLeftEvent import MemberLeftEventT
from plaza.coord.RoomClosedEvent import RoomClosedEventT
from plaza.coord.RoomEvent import RoomEvent as RoomEventFb
from plaza.coord.RoomEvent import RoomEventT
from plaza.coord.StateChangedEvent import StateChangedEventT
from plaza.protocol.StateEntry import StateEntryT
from plaza_control.codec import CodecError

ROOM_EVENT_ID = b"PLZE"

_LEAVE_NAMES: dict[int, str] = {
    v: re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower()
    for k, v in vars(LeaveReason).items()
    if not k.startswith("_") and isinstance(v, int)
}
_LEAVE_VALUES = {v: k for k, v in _LEAVE_NAMES.items()}


class MemberJoined(msgspec.Struct, frozen=True, kw_only=True, tag="member_joined"):
    user_id: str
    member_id: int = 0
    display_name: str = ""
    session_id: str = ""


class MemberLeft(msgspec.Struct, frozen=True, kw_only=True, tag="member_left"):
    user_id: str
    member_id: int = 0
    session_id: str = ""
    #: ``plaza.common.LeaveReason`` in lower case ("left", "drained", ...); unknown
    #: values (a newer relay) read as ``reason_<n>``.
    reason: str = "left"
    duration_ms: int = 0


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True, tag="chat_message"):
    sequence: int
    user_id: str
    display_name: str = ""
    text: str = ""


class StateChanged(msgspec.Struct, frozen=True, kw_only=True, tag="state_changed"):
    sequence: int
    key: str = ""
    version: int = 0
    value_bytes: int = 0
    deleted: bool = False


class RoomClosed(msgspec.Struct, frozen=True, kw_only=True, tag="room_closed"):
    reason: str = ""
    last_sequence: int = 0


class CommandAcked(msgspec.Struct, frozen=True, kw_only=True, tag="command_ack"):
    command_id: str
    ok: bool
    detail: str = ""


EventBodyT = MemberJoined | MemberLeft | ChatMessage | StateChanged | RoomClosed | CommandAcked


class RoomEvent(msgspec.Struct, frozen=True, kw_only=True):
    #: ``{relay_id}:{relay_boot}:{counter}``; the idempotency key.
    event_id: str
    relay_id: str
    #: Empty for events not about a room (e.g. the ack of a drain).
    room_id: str
    world_id: str
    occurred_at_ms: int
    body: EventBodyT

    @property
    def kind(self) -> str:
        return type(self.body).__struct_config__.tag  # type: ignore[return-value]


def _s(v: bytes | str | None) -> str:
    if v is None:
        return ""
    return v.decode("utf-8") if isinstance(v, bytes) else v


def _body(body_type: int, b: Any) -> EventBodyT:
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


def decode(buf: bytes) -> RoomEvent:
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
            body=_body(t.bodyType, t.body),
        )
    except CodecError:
        raise
    except (IndexError, ValueError, TypeError, UnicodeDecodeError, struct.error) as exc:
        raise CodecError(f"corrupt RoomEvent buffer: {type(exc).__name__}") from exc
    if not event.event_id:
        raise CodecError("RoomEvent without event_id")
    return event


def _body_t(body: EventBodyT) -> tuple[int, Any]:
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


def encode(event: RoomEvent) -> bytes:
    """What a relay XADDs (field ``e``): tests, tools and the demo use it."""
    body_type, body_t = _body_t(event.body)
    t: Any = RoomEventT(
        eventId=event.event_id,
        relayId=event.relay_id,
        roomId=event.room_id,
        worldId=event.world_id,
        occurredAtMs=event.occurred_at_ms,
        bodyType=body_type,
        body=body_t,
    )
    b = flatbuffers.Builder(256)
    b.Finish(t.Pack(b), file_identifier=ROOM_EVENT_ID)
    return bytes(b.Output())
