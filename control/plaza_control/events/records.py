"""What the event consumer writes to MongoDB, and the contracts of the stores it
writes through. Times are Unix milliseconds."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from plaza_control.models import RoomEvent


class ChatRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One chat line; ``id`` is the relay's event id (the idempotency key)."""

    id: str
    room_id: str
    world_id: str
    sequence: int
    user_id: str
    display_name: str
    text: str
    occurred_at_ms: int
    relay_id: str


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One stay of a user in a room on a relay. ``status`` is ``active`` until the
    relay reports the member left. Fields of the event not yet seen are zero."""

    id: str
    user_id: str
    room_id: str
    world_id: str
    relay_id: str
    display_name: str = ""
    member_id: int = 0
    status: Literal["active", "completed"] = "active"
    joined_at_ms: int = 0
    left_at_ms: int = 0
    leave_reason: str = ""
    duration_ms: int = 0


class RelayAck(msgspec.Struct, frozen=True, kw_only=True):
    relay_id: str
    ok: bool
    detail: str
    at_ms: int


class CommandStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A command as the ops API shows it: the record plus every relay's ack.
    ``ack``: a targeted command takes its relay's answer; a broadcast is ``ok``
    once one relay acknowledged and ``failed`` once any relay failed."""

    #: ``command_id`` on the wire, as in the answers of the ops actions.
    id: str = msgspec.field(name="command_id")
    at_ms: int
    issued_by: str
    target_relay_id: str
    kind: str
    body: dict[str, object]
    ack: Literal["pending", "ok", "failed"] = "pending"
    ack_detail: str = ""
    #: First acknowledgement; 0 while pending.
    acked_at_ms: int = 0
    acks: list[RelayAck] = msgspec.field(default_factory=list)


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    #: ``<stream name>/<entry id>``: a redelivered entry is stored once.
    id: str
    stream: str
    entry_id: str
    error: str
    at_ms: int
    #: The entry's fields, values as received (bytes).
    fields: dict[str, bytes]


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
    ) -> list[ChatRecord]:
        """A room's lines by sequence (ties by id), newest or oldest first, with
        sequence < ``before`` and > ``after`` when given."""
        ...


class SessionRepository(Protocol):
    async def record(self, changes: list[tuple[RoomEvent, str]]) -> set[str]:
        """Upsert the join or leave half of each (event, session id), in any order
        (the halves write disjoint fields). Returns the ids among them whose
        session is now ``completed``."""
        ...

    async def by_user(self, user_id: str, limit: int, before: int | None) -> list[SessionRecord]:
        """Newest first by join time, joined before ``before`` when given."""
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
    guards against late events: a room that moved to another relay is not
    changed by an event of its previous relay. ``session_id`` (the relay's, unique
    per connection) makes member events idempotent: once a session's leave is
    applied, its join no longer confirms anything and a second copy of the leave
    frees nothing."""

    async def confirm(
        self, room_id: str, user_id: str, relay_id: str, session_id: str = ""
    ) -> int: ...
    async def release(
        self, room_id: str, user_id: str, relay_id: str, now_ms: int, session_id: str = ""
    ) -> bool: ...
    async def release_room(self, room_id: str, relay_id: str) -> str: ...
