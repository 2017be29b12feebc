"""Reads of what the ``control`` group wrote: chat history (players and
operators), commands with their acks and users' sessions (operators)."""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from plaza_control import paging
from plaza_control.errors import Forbidden, NotFound
from plaza_control.events.contracts import (
    ChatRepository,
    CommandAckRepository,
    SessionRepository,
)
from plaza_control.events.models import ChatRecord, CommandStatus, SessionRecord
from plaza_control.repositories.base import Allocator, UserRepository

MAX_PAGE = 200
Order = Literal["newest", "oldest"]


class ChatPage(msgspec.Struct, frozen=True, kw_only=True):
    room_id: str
    #: The lifetime these lines belong to (decisions/009): the room's current
    #: (or, once closed, last) lifetime unless an operator asked for another.
    room_lifetime: int
    order: Order
    items: list[ChatRecord]
    #: Pass as ``cursor`` (same ``order``) for the next page; null at the end.
    next: str | None


class ChatHistoryService:
    def __init__(self, chat: ChatRepository, allocator: Allocator) -> None:
        self._chat = chat
        self._alloc = allocator

    async def check_player(self, user_id: str, room_id: str) -> None:
        """Players read the history of the room they hold a seat in, nothing else."""
        if await self._alloc.user_room(user_id) != room_id:
            raise Forbidden("players may read the chat history of their current room only")

    async def page(
        self,
        room_id: str,
        order: Order,
        cursor: str | None,
        limit: int,
        lifetime: int | None = None,
    ) -> ChatPage:
        """``cursor``: a page's ``next`` (a sequence); newest-first pages continue
        below it, oldest-first pages above it. ``lifetime`` None: the room's current (or
        last) lifetime; history never mixes two lifetimes of a room id."""
        limit = max(1, min(limit, MAX_PAGE))
        seq = paging.decode_int(cursor)
        if lifetime is None:
            # A room's field of A room_lifetimes is forgotten a minute or two after
            # it closed (decisions/016); its history then is the last lifetime
            # with a stored line.
            lifetime = await self._alloc.last_lifetime(room_id)
            if lifetime == 0:
                lifetime = await self._chat.last_lifetime(room_id)
        items = await self._chat.page(
            room_id,
            limit,
            order,
            before=seq if order == "newest" else None,
            after=seq if order == "oldest" else None,
            lifetime=lifetime,
        )
        nxt = paging.encode(items[-1].sequence) if len(items) == limit else None
        return ChatPage(room_id=room_id, room_lifetime=lifetime, order=order, items=items, next=nxt)


CommandPage = paging.Page[CommandStatus]


SessionPage = paging.Page[SessionRecord]


class RoomMember(msgspec.Struct, frozen=True, kw_only=True):
    """A seat of a room and who holds it: the seat from Redis, the rest from the
    session record the ``control`` group wrote (empty until it has)."""

    user_id: str
    display_name: str
    #: The relay session that confirmed the seat; '' while only reserved.
    session_id: str
    #: Admitted by the relay; False: reserved for a ticket not redeemed yet.
    confirmed: bool
    #: When the relay admitted the member (ms); 0 while reserved or before the
    #: session record is written.
    joined_at_ms: int
    #: When an unconfirmed reservation lapses (ms); 0 once confirmed.
    expires_at_ms: int


MemberPage = paging.Page[RoomMember]


#: What a relay's ``CommandAck.detail`` says it did: ``"<kind> affected <n>"``
#: (relay-go ``internal/relay/commands.go``).
_AFFECTED = re.compile(r"\baffected (\d+)$")


def affected(detail: str) -> int | None:
    """The count a relay reported in an ack's detail; None when it named none."""
    m = _AFFECTED.search(detail)
    return None if m is None else int(m.group(1))


def with_counts(status: CommandStatus) -> CommandStatus:
    """Each relay's ``affected`` from its detail, and their sum: true for a
    broadcast, which every relay answers for itself."""
    acks = [msgspec.structs.replace(a, affected=affected(a.detail)) for a in status.acks]
    return msgspec.structs.replace(
        status,
        acks=acks,
        affected=sum(a.affected or 0 for a in acks),
        relays_acked=len(acks),
        relays_failed=sum(1 for a in acks if not a.ok),
    )


class EventRecordsService:
    """Operator reads: commands with their acks, a user's sessions, a room's
    members."""

    def __init__(
        self,
        acks: CommandAckRepository,
        sessions: SessionRepository,
        allocator: Allocator | None = None,
        users: UserRepository | None = None,
    ) -> None:
        self._acks = acks
        self._sessions = sessions
        self._alloc = allocator
        self._users = users

    async def command(self, command_id: str) -> CommandStatus:
        status = await self._acks.get(command_id)
        if status is None:
            raise NotFound(f"command {command_id} not found")
        return with_counts(status)

    async def commands(self, limit: int, cursor: str | None, ack: str | None) -> CommandPage:
        before = None
        if cursor is not None:
            at_ms, cid = paging.decode(cursor, int, str)
            before = f"{at_ms}-{cid}"
        items = [with_counts(s) for s in await self._acks.page(limit, before, ack)]
        nxt = paging.encode(items[-1].at_ms, items[-1].id) if len(items) == limit else None
        return CommandPage(items, nxt)

    async def sessions(self, user_id: str, limit: int, cursor: str | None) -> SessionPage:
        items = await self._sessions.by_user(user_id, limit, paging.decode_int(cursor))
        nxt = paging.encode(items[-1].joined_at_ms) if len(items) == limit else None
        return SessionPage(items, nxt)

    async def members(self, room_id: str, limit: int, cursor: str | None) -> MemberPage:
        """``NotFound`` for a room that is not open."""
        assert self._alloc is not None, "built without an allocator"
        assert self._users is not None, "built without users"
        if await self._alloc.room(room_id) is None:
            raise NotFound(f"room {room_id} is not open")
        after = paging.decode_str(cursor)
        seats = [s for s in await self._alloc.seats(room_id) if after is None or s.user_id > after]
        seats = seats[:limit]
        records = await self._sessions.get_many([s.session_id for s in seats if s.session_id])
        items: list[RoomMember] = []
        for seat in seats:
            rec = records.get(seat.session_id) if seat.session_id else None
            name = rec.display_name if rec is not None else ""
            if not name:
                user = await self._users.get(seat.user_id)
                name = user.display_name if user is not None else ""
            items.append(
                RoomMember(
                    user_id=seat.user_id,
                    display_name=name,
                    session_id=seat.session_id,
                    confirmed=seat.confirmed,
                    joined_at_ms=rec.joined_at_ms if rec is not None else 0,
                    expires_at_ms=seat.expires_at_ms,
                )
            )
        nxt = paging.encode(items[-1].user_id) if len(items) == limit else None
        return MemberPage(items, nxt)
