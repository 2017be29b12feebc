"""Seat rules for relay events (docs/redis.md, "Events"), applied by the ``seats``
consumer group: Redis only, so seats are confirmed at Redis speed whatever
MongoDB is doing (docs/decisions/006-seat-confirmation.md).

One batch at a time, in stream order (a join before its leave). Every script is
idempotent for a redelivered or late event: the reporting relay guards the room
(a room that moved is left alone) and the relay's session id guards the seat (a
session whose leave was applied is never confirmed again, and a second copy of
a leave frees nothing). The caller acknowledges the entries only after ``apply``
returned."""

from __future__ import annotations

from plaza_control.clock import Clock
from plaza_control.events.records import EventSeats
from plaza_control.models import MemberJoined, MemberLeft, RoomClosed, RoomEvent
from plaza_control.services.events import Outcome, session_id


class SeatEventHandler:
    def __init__(self, *, seats: EventSeats, clock: Clock) -> None:
        self._seats = seats
        self._clock = clock

    async def apply(self, events: list[RoomEvent]) -> Outcome:
        out = Outcome()
        for e in events:
            b = e.body
            if isinstance(b, MemberJoined):
                sid = session_id(e, b.user_id, b.session_id, b.member_id)
                if await self._seats.confirm(e.room_id, b.user_id, e.relay_id, sid) != 1:
                    out.stale.append(e.kind)
            elif isinstance(b, MemberLeft):
                sid = session_id(e, b.user_id, b.session_id, b.member_id)
                await self._seats.release(e.room_id, b.user_id, e.relay_id, self._clock(), sid)
            elif isinstance(b, RoomClosed) and (
                await self._seats.release_room(e.room_id, e.relay_id) == ""
            ):
                out.stale.append(e.kind)
        return out
