"""The rules for relay events (docs/redis.md, "Events"). One batch at a time, in
stream order; every write is idempotent, so a batch may be applied again after a
failure or a redelivery and leave the same state.

Per batch: chat lines in one bulk insert, session records in one bulk write,
then the Redis seat scripts and command acks in stream order. MongoDB first,
then Redis. The caller acknowledges the
stream entries only after ``apply`` returned, so a failure anywhere leaves the
entries pending and they are applied again (at least once; exactly once in
effect)."""

from __future__ import annotations

import structlog

from plaza_control.events.codec import (
    ChatMessage,
    CommandAcked,
    MemberJoined,
    MemberLeft,
    RoomClosed,
    RoomEvent,
    StateChanged,
)
from plaza_control.events.records import (
    ChatRecord,
    ChatRepository,
    CommandAckRepository,
    EventSeats,
    SessionRepository,
)
from plaza_control.services.clock import Clock

_log = structlog.get_logger("plaza.events")


def session_id(event: RoomEvent, user_id: str, relay_session: str, member_id: int) -> str:
    """The relay's session id, or one derived from the event when a relay sends none."""
    return relay_session or f"{event.relay_id}:{event.room_id}:{user_id}:{member_id}"


class Outcome:
    """What one batch did: ``stale`` lists the kinds of events that changed
    nothing because they were late (room moved, session already ended)."""

    def __init__(self) -> None:
        self.stale: list[str] = []
        self.chat_new = 0


class EventHandler:
    def __init__(
        self,
        *,
        seats: EventSeats,
        chat: ChatRepository,
        sessions: SessionRepository,
        acks: CommandAckRepository,
        clock: Clock,
    ) -> None:
        self._seats = seats
        self._chat = chat
        self._sessions = sessions
        self._acks = acks
        self._clock = clock

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
        completed = await self._sessions.record(members)
        sids = {e.event_id: sid for e, sid in members}
        # Redis and acks in stream order (seat scripts are cheap; order matters
        # within a room: a join before its leave).
        for e in events:
            if not isinstance(e.body, ChatMessage):
                await self._one(e, sids.get(e.event_id, ""), completed, out)
        return out

    async def _one(self, e: RoomEvent, sid: str, completed: set[str], out: Outcome) -> None:
        b = e.body
        if isinstance(b, MemberJoined):
            # A leave applied first (redelivery, claim from a dead consumer) wins:
            # confirming now would hold a seat nobody uses, forever.
            if sid in completed or not await self._seats.confirm(e.room_id, b.user_id, e.relay_id):
                out.stale.append(e.kind)
        elif isinstance(b, MemberLeft):
            await self._seats.release(e.room_id, b.user_id, e.relay_id, self._clock())
        elif isinstance(b, RoomClosed):
            if await self._seats.release_room(e.room_id, e.relay_id) == "":
                out.stale.append(e.kind)
        elif isinstance(b, CommandAcked):
            if not await self._acks.ack(b.command_id, e.relay_id, b.ok, b.detail, e.occurred_at_ms):
                _log.warning("ack of an unknown command", command_id=b.command_id, relay=e.relay_id)
                out.stale.append(e.kind)
        elif isinstance(b, StateChanged):
            # Room state lives in the relays' Redis snapshots; the event is counted
            # (metrics) and logged at debug level for audit.
            _log.debug(
                "room state changed", room=e.room_id, key=b.key, seq=b.sequence, deleted=b.deleted
            )
