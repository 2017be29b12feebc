"""Reads of what the ``control`` group wrote: chat history (players and
operators), commands with their acks and users' sessions (operators)."""

from __future__ import annotations

from typing import Literal

import msgspec

from plaza_control.errors import Forbidden, NotFound
from plaza_control.events.contracts import (
    ChatRepository,
    CommandAckRepository,
    SessionRepository,
)
from plaza_control.events.models import ChatRecord, CommandStatus, SessionRecord
from plaza_control.repositories.base import Allocator

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
    next: int | None


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
        cursor: int | None,
        limit: int,
        lifetime: int | None = None,
    ) -> ChatPage:
        """``cursor``: a sequence; newest-first pages continue below it,
        oldest-first pages above it. ``lifetime`` None: the room's current (or
        last) lifetime; history never mixes two lifetimes of a room id."""
        limit = max(1, min(limit, MAX_PAGE))
        if lifetime is None:
            lifetime = await self._alloc.last_lifetime(room_id)
        items = await self._chat.page(
            room_id,
            limit,
            order,
            before=cursor if order == "newest" else None,
            after=cursor if order == "oldest" else None,
            lifetime=lifetime,
        )
        nxt = items[-1].sequence if len(items) == limit else None
        return ChatPage(room_id=room_id, room_lifetime=lifetime, order=order, items=items, next=nxt)


class CommandPage(msgspec.Struct, frozen=True):
    items: list[CommandStatus]
    #: Pass as ``before`` for the next (older) page; null at the end.
    next: str | None


class SessionPage(msgspec.Struct, frozen=True):
    items: list[SessionRecord]
    #: Pass as ``before`` (a join time in ms) for the next (older) page.
    next: int | None


class EventRecordsService:
    """Operator reads: commands with their acks, a user's sessions."""

    def __init__(self, acks: CommandAckRepository, sessions: SessionRepository) -> None:
        self._acks = acks
        self._sessions = sessions

    async def command(self, command_id: str) -> CommandStatus:
        status = await self._acks.get(command_id)
        if status is None:
            raise NotFound(f"command {command_id} not found")
        return status

    async def commands(self, limit: int, before: str | None, ack: str | None) -> CommandPage:
        items = await self._acks.page(limit, before, ack)
        nxt = f"{items[-1].at_ms}-{items[-1].id}" if len(items) == limit else None
        return CommandPage(items, nxt)

    async def sessions(self, user_id: str, limit: int, before: int | None) -> SessionPage:
        items = await self._sessions.by_user(user_id, limit, before)
        return SessionPage(items, items[-1].joined_at_ms if len(items) == limit else None)
