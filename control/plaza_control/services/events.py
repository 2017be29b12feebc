"""The MongoDB rules for relay events (docs/redis.md, "Events"), applied by the
``control`` consumer group. One batch at a time, in stream order; every write
is idempotent, so a batch may be applied again after a failure or a redelivery
and leave the same state.

Per batch: chat lines in one bulk insert, session records in one bulk write,
then command acks in stream order. Seats are not touched here: the ``seats``
group applies the same events to Redis on its own
(``plaza_control.services.seats``), so a slow or absent MongoDB never delays a
seat confirmation. The caller acknowledges the stream entries only after
``apply`` returned, so a failure anywhere leaves the entries pending and they
are applied again (at least once; exactly once in effect)."""

from __future__ import annotations

import structlog

from plaza_control.events.records import (
    ChatRecord,
    ChatRepository,
    CommandAckRepository,
    SessionRepository,
)
from plaza_control.models import (
    ChatMessage,
    CommandAcked,
    MemberJoined,
    MemberLeft,
    RoomEvent,
    StateChanged,
)

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
