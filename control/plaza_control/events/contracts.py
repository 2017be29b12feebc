"""Contracts of the event side's stores: what the handlers, the reads and the
consumer loop may ask of them. Implementations: ``events.mongo`` (MongoDB) and
``events.redis`` (Redis). Every method is a coroutine."""

from __future__ import annotations

from typing import Literal, Protocol

from plaza_control.events.models import (
    ChatRecord,
    CommandStatus,
    DeadLetter,
    Entry,
    GroupInfo,
    SessionRecord,
)
from plaza_control.models import RoomEvent


class EventStream(Protocol):
    """One consumer of one consumer group on ``P events``. Not thread-safe; one
    task uses it. Nothing is acknowledged until ``ack``."""

    #: The stream's key, the group's name and this consumer's name.
    stream: str
    group: str
    consumer: str

    async def ensure_group(self) -> bool:
        """Create the group (and the stream) if missing; True if created now."""
        ...

    async def read(self, count: int, block_ms: int, pending: bool) -> list[Entry]:
        """``pending=True``: this consumer's delivered but unacknowledged entries,
        from the start of its pending list, without blocking. Else new entries,
        blocking up to ``block_ms``."""
        ...

    async def claim(
        self, min_idle_ms: int, count: int, start: str = "0-0"
    ) -> tuple[str, list[Entry]]:
        """Take over entries idle longer than ``min_idle_ms`` in any consumer's
        pending list. Returns the next start id ('0-0' at the end) and the entries."""
        ...

    async def ack(self, ids: list[str]) -> int: ...
    async def info(self) -> GroupInfo: ...
    async def forget_idle_consumers(self, idle_ms: int) -> int:
        """Delete other consumers with nothing pending, idle longer than ``idle_ms``."""
        ...


class ChatRepository(Protocol):
    async def insert_many(self, records: list[ChatRecord]) -> int:
        """Insert; an id already stored is skipped (not an error). Returns how many
        were new."""
        ...

    async def page(
        self,
        room_id: str,
        limit: int,
        order: Literal["newest", "oldest"],
        before: int | None,
        after: int | None,
        lifetime: int = 0,
    ) -> list[ChatRecord]:
        """The lines of one lifetime of a room (0: lines stored without one) by
        sequence (ties by id), newest or oldest first, with sequence < ``before``
        and > ``after`` when given."""
        ...

    async def last_lifetime(self, room_id: str) -> int:
        """The highest lifetime of the room with a stored line (0: none)."""
        ...


class SessionRepository(Protocol):
    async def record(self, changes: list[tuple[RoomEvent, str]]) -> None:
        """Upsert the join or leave half of each (event, session id), in any order
        (the halves write disjoint fields). Nothing is read back: on FerretDB 1.24
        a ``find`` by ``_id: {$in: ...}`` scans the whole collection (~250 ms per
        batch at 8,000 sessions, scripts/probe_ferretdb.py), and no caller used
        the answer."""
        ...

    async def by_user(self, user_id: str, limit: int, before: int | None) -> list[SessionRecord]:
        """Newest first by join time, joined before ``before`` when given."""
        ...

    async def get_many(self, session_ids: list[str]) -> dict[str, SessionRecord]:
        """The records of these session ids that exist, by id."""
        ...


class CommandAckRepository(Protocol):
    async def ack(self, command_id: str, relay_id: str, ok: bool, detail: str, at_ms: int) -> bool:
        """Record one relay's answer (idempotent); False if the command is unknown."""
        ...

    async def get(self, command_id: str) -> CommandStatus | None: ...
    async def page(self, limit: int, before: str | None, ack: str | None) -> list[CommandStatus]:
        """Newest first by (at_ms, id); ``before`` is the ``at_ms-id`` cursor."""
        ...


class DeadLetterRepository(Protocol):
    async def put(self, letter: DeadLetter) -> None:
        """Store once (an id already stored is not an error)."""
        ...


class EventSeats(Protocol):
    """The allocation scripts the seat consumer drives (docs/redis.md). ``relay_id``
    and ``lifetime`` guard against late events: a room that moved to another relay,
    or that was closed and opened again under the same id (a new lifetime), is not
    changed by an event about what it was before; ``lifetime`` 0 (a relay older
    than decisions/009) skips the lifetime guard. ``session_id`` (the relay's, unique
    per connection) makes member events idempotent: once a session's leave is
    applied, its join no longer confirms anything and a second copy of the leave
    frees nothing."""

    async def confirm(
        self, room_id: str, user_id: str, relay_id: str, session_id: str = "", lifetime: int = 0
    ) -> int:
        """1 confirmed; 0 room unknown; -1 room on another relay; -2 session ended;
        -3 room in another lifetime."""
        ...

    async def release(
        self,
        room_id: str,
        user_id: str,
        relay_id: str,
        now_ms: int,
        session_id: str = "",
        lifetime: int = 0,
    ) -> bool:
        """Free the user's seat; False if there was none to free."""
        ...

    async def release_room(self, room_id: str, relay_id: str, lifetime: int = 0) -> str:
        """Forget the room if ``relay_id`` holds it in ``lifetime`` (0: any); its
        relay, or '' if unchanged."""
        ...
