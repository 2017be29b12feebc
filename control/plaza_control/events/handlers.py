"""The rules for relay events (docs/redis.md, "Events"): one handler per
consumer group, each applying one batch at a time, in stream order (a join
before its leave). Every write is idempotent, so a batch may be applied again
after a failure or a redelivery and leave the same state. The caller
acknowledges the stream entries only after ``apply`` returned, so a failure
anywhere leaves the entries pending and they are applied again (at least once;
exactly once in effect).

- ``EventHandler`` (group ``control``): MongoDB records. Per batch: chat lines
  in one bulk insert, session records in one bulk write, then command acks in
  stream order. Never touches seats.
- ``SeatEventHandler`` (group ``seats``): Redis only, so seats are confirmed at
  Redis speed whatever MongoDB is doing (docs/decisions/006-seat-confirmation.md).
  The reporting relay guards the room (a room that moved is left alone) and the
  relay's session id guards the seat (a session whose leave was applied is
  never confirmed again, and a second copy of a leave frees nothing).
"""

from __future__ import annotations

import structlog

from plaza_control.clock import Clock
from plaza_control.events.contracts import (
    ChatRepository,
    CommandAckRepository,
    EventSeats,
    SessionRepository,
)
from plaza_control.events.models import ChatRecord
from plaza_control.models import (
    ChatMessage,
    CommandAcked,
    MemberJoined,
    MemberLeft,
    RoomClosed,
    RoomEvent,
    StateChanged,
)
from plaza_control.repositories.base import Allocator

_log = structlog.get_logger("plaza.events")


def session_id(event: RoomEvent, user_id: str, relay_session: str, member_id: int) -> str:
    """The relay's session id, or one derived from the event when a relay sends none."""
    return relay_session or f"{event.relay_id}:{event.room_id}:{user_id}:{member_id}"


class Outcome:
    """What one batch did: ``stale`` lists the kinds of events that changed
    nothing because they were late (room moved, session already ended, command
    unknown)."""

    def __init__(self) -> None:
        self.stale: list[str] = []
        self.chat_new = 0


class EventHandler:
    """Group ``control``: sessions, chat and command acks in MongoDB."""

    def __init__(
        self,
        *,
        chat: ChatRepository,
        sessions: SessionRepository,
        acks: CommandAckRepository,
    ) -> None:
        self._chat = chat
        self._sessions = sessions
        self._acks = acks

    async def apply(self, events: list[RoomEvent]) -> Outcome:
        out = Outcome()
        # Chat lines are independent of everything else: one bulk write per batch.
        chat = [
            ChatRecord(
                id=e.event_id,
                room_id=e.room_id,
                world_id=e.world_id,
                sequence=e.body.sequence,
                user_id=e.body.user_id,
                display_name=e.body.display_name,
                text=e.body.text,
                occurred_at_ms=e.occurred_at_ms,
                relay_id=e.relay_id,
                room_lifetime=e.room_lifetime,
            )
            for e in events
            if isinstance(e.body, ChatMessage)
        ]
        out.chat_new = await self._chat.insert_many(chat)
        # Session records of the whole batch in one bulk write.
        members = [
            (e, session_id(e, e.body.user_id, e.body.session_id, e.body.member_id))
            for e in events
            if isinstance(e.body, MemberJoined | MemberLeft)
        ]
        await self._sessions.record(members)
        for e in events:
            b = e.body
            if isinstance(b, CommandAcked):
                if not await self._acks.ack(
                    b.command_id, e.relay_id, b.ok, b.detail, e.occurred_at_ms
                ):
                    _log.warning(
                        "ack of an unknown command", command_id=b.command_id, relay=e.relay_id
                    )
                    out.stale.append(e.kind)
            elif isinstance(b, StateChanged):
                # Room state lives in the relays' Redis snapshots; the event is
                # counted (metrics) and logged at debug level for audit.
                _log.debug(
                    "room state changed",
                    room=e.room_id,
                    key=b.key,
                    seq=b.sequence,
                    deleted=b.deleted,
                )
        return out


class SeatEventHandler:
    """Group ``seats``: seat_confirm / seat_release / room_release in Redis."""

    def __init__(self, *, seats: EventSeats, clock: Clock) -> None:
        self._seats = seats
        self._clock = clock

    async def apply(self, events: list[RoomEvent]) -> Outcome:
        out = Outcome()
        for e in events:
            b = e.body
            if isinstance(b, MemberJoined):
                sid = session_id(e, b.user_id, b.session_id, b.member_id)
                got = await self._seats.confirm(
                    e.room_id, b.user_id, e.relay_id, sid, e.room_lifetime
                )
                if got != 1:
                    out.stale.append(e.kind)
            elif isinstance(b, MemberLeft):
                sid = session_id(e, b.user_id, b.session_id, b.member_id)
                await self._seats.release(
                    e.room_id, b.user_id, e.relay_id, self._clock(), sid, e.room_lifetime
                )
            elif isinstance(b, RoomClosed) and (
                await self._seats.release_room(e.room_id, e.relay_id, e.room_lifetime) == ""
            ):
                out.stale.append(e.kind)
        return out


async def mirror_relay_drains(allocator: Allocator) -> int:
    """A relay draining on its own (SIGTERM) reports it in its heartbeat; adding it
    to ``A draining`` for its boot id (``A drain_incarnations``) lets join.lua move
    its rooms once they are empty, exactly as after an operator's drain. The
    sweeper removes the mark when a later incarnation heartbeats or the heartbeat
    expires. Returns how many relays it marked. The seat consumer runs it as
    housekeeping."""
    n = 0
    for r in await allocator.relays():
        if r.state in ("draining", "stopping") and (
            not r.drain_requested or r.drain_boot_id != r.boot_id
        ):
            await allocator.mark_draining(r.relay_id, r.boot_id)
            n += 1
    return n
