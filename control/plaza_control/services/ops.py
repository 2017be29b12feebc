"""Operator actions on players, rooms and relays."""

from __future__ import annotations

from typing import Literal

import msgspec

from plaza_control import paging
from plaza_control.clock import Clock
from plaza_control.errors import InvalidInput, NotFound
from plaza_control.models import (
    AnnounceBody,
    ApiKey,
    Ban,
    CloseRoomBody,
    CommandRecord,
    DrainBody,
    KickBody,
    Mute,
    MuteBody,
    RelayInfo,
    RoomInfo,
    RoomStateSnapshot,
    UnmuteBody,
    User,
)
from plaza_control.repositories.base import Allocator, BanRepository, ConfigCache, UserRepository
from plaza_control.services.commands import CommandService
from plaza_control.services.operators import Auditor
from plaza_control.services.players import sha256_hex


def _relay_key(r: RelayInfo) -> str:
    return r.relay_id


def _ban_key(b: Ban) -> str:
    return b.user_id


class Undrained(msgspec.Struct, frozen=True, kw_only=True):
    relay_id: str
    #: False: the relay had no drain mark (nothing changed).
    undrained: bool


class OpsService:
    def __init__(
        self,
        *,
        users: UserRepository,
        bans: BanRepository,
        cache: ConfigCache,
        allocator: Allocator,
        commands: CommandService,
        auditor: Auditor,
        clock: Clock,
    ) -> None:
        self._users = users
        self._bans = bans
        self._cache = cache
        self._alloc = allocator
        self._commands = commands
        self._audit = auditor
        self._clock = clock

    # Reads. Lists return one page and the cursor of the next (``paging``).
    async def relays(self, limit: int, cursor: str | None) -> tuple[list[RelayInfo], str | None]:
        return paging.after_key(await self._alloc.relays(), _relay_key, limit, cursor)

    async def rooms(
        self,
        limit: int,
        cursor: str | None,
        *,
        world_id: str | None = None,
        relay_id: str | None = None,
        min_members: int = 0,
        max_members: int | None = None,
    ) -> tuple[list[RoomInfo], str | None]:
        """Members are seats (reserved and confirmed)."""
        items = await self._alloc.rooms(
            world_id,
            limit + 1,
            after=paging.decode_str(cursor),
            relay_id=relay_id,
            min_seats=min_members,
            max_seats=max_members,
        )
        page = items[:limit]
        return page, paging.encode(page[-1].room_id) if len(items) > limit else None

    async def room_state(self, room_id: str) -> RoomStateSnapshot:
        """The relay's last saved state of the room: keys and versions, with the
        lifetime it belongs to (a closed room's snapshot may outlive it)."""
        snap = await self._alloc.room_state(room_id)
        if snap is None:
            raise NotFound(f"room {room_id} has no saved state")
        return snap

    async def users(
        self,
        limit: int,
        cursor: str | None,
        *,
        name_prefix: str | None = None,
        device_id: str | None = None,
        identity: str | None = None,
    ) -> tuple[list[User], str | None]:
        """Search by display-name prefix, device id (stored as its sha256, so the
        query is hashed the same way) or external identity ``issuer|subject``."""
        items = await self._users.page(
            limit + 1,
            paging.decode_str(cursor),
            name_prefix=name_prefix,
            device_hash=None if device_id is None else sha256_hex(device_id),
            external_key=identity,
        )
        page = items[:limit]
        return page, paging.encode(page[-1].id) if len(items) > limit else None

    async def bans(
        self, limit: int, cursor: str | None, include_ended: bool = False
    ) -> tuple[list[Ban], str | None]:
        """Bans by user id; those that ended only with ``include_ended``."""
        now = self._clock()
        found = [b for b in await self._bans.all() if include_ended or b.active(now)]
        return paging.after_key(found, _ban_key, limit, cursor)

    async def user(self, user_id: str) -> tuple[User, Ban | None, str | None]:
        user = await self._users.get(user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        return user, await self._bans.get(user_id), await self._alloc.user_room(user_id)

    async def _room_relay(self, room_id: str) -> str:
        room = await self._alloc.room(room_id)
        if room is None:
            raise NotFound(f"room {room_id} is not open")
        return room.relay_id

    # Actions: each is audited and returns the command it sent (if any).
    async def ban(
        self, key: ApiKey, user_id: str, reason: str, duration_seconds: int
    ) -> CommandRecord | None:
        async with self._audit.action(
            key, "user.ban", user_id, reason=reason, duration_seconds=duration_seconds
        ) as detail:
            if await self._users.get(user_id) is None:
                raise NotFound(f"user {user_id} not found")
            now = self._clock()
            ban = Ban(
                user_id=user_id,
                reason=reason,
                until_ms=now + duration_seconds * 1000 if duration_seconds else 0,
                by=key.id,
                at_ms=now,
            )
            await self._bans.put(ban)
            await self._cache.put_ban(ban)
            room_id = await self._alloc.user_room(user_id)
            if room_id is None:
                return None
            room = await self._alloc.room(room_id)
            if room is None:
                return None
            cmd = await self._commands.send(
                key.id,
                room.relay_id,
                KickBody(room_id=room_id, user_id=user_id, reason=f"banned: {reason}", banned=True),
            )
            detail.append(f"command {cmd.id}")
            return cmd

    async def unban(self, key: ApiKey, user_id: str) -> None:
        async with self._audit.action(key, "user.unban", user_id, ok_status=204):
            removed = await self._bans.delete(user_id)
            await self._cache.drop_ban(user_id)
            if not removed:
                raise NotFound(f"user {user_id} is not banned")

    async def kick(self, key: ApiKey, room_id: str, user_id: str, reason: str) -> CommandRecord:
        async with self._audit.action(
            key, "room.kick", f"{room_id}/{user_id}", ok_status=202, reason=reason
        ) as detail:
            relay = await self._room_relay(room_id)
            cmd = await self._commands.send(
                key.id, relay, KickBody(room_id=room_id, user_id=user_id, reason=reason)
            )
            detail.append(f"command {cmd.id}")
            return cmd

    async def mute(
        self, key: ApiKey, user_id: str, room_id: str, duration_seconds: int, reason: str
    ) -> CommandRecord:
        async with self._audit.action(
            key,
            "user.mute",
            f"{room_id}/{user_id}",
            ok_status=202,
            reason=reason,
            duration_seconds=duration_seconds,
        ) as detail:
            relay = await self._room_relay(room_id) if room_id else ""
            now = self._clock()
            # Kept in Redis too, so the mute outlives the room and the session it
            # was given in: every join mints it into the ticket (claim ``mut``).
            await self._cache.put_mute(
                Mute(
                    user_id=user_id,
                    reason=reason,
                    until_ms=now + duration_seconds * 1000 if duration_seconds else 0,
                    by=key.id,
                    at_ms=now,
                    room_id=room_id,
                )
            )
            cmd = await self._commands.send(
                key.id,
                relay,
                MuteBody(
                    room_id=room_id,
                    user_id=user_id,
                    duration_seconds=duration_seconds,
                    reason=reason,
                ),
            )
            detail.append(f"command {cmd.id}")
            return cmd

    async def unmute(self, key: ApiKey, user_id: str, room_id: str) -> CommandRecord:
        async with self._audit.action(
            key, "user.unmute", f"{room_id}/{user_id}", ok_status=202
        ) as detail:
            relay = await self._room_relay(room_id) if room_id else ""
            await self._cache.drop_mute(user_id)
            cmd = await self._commands.send(
                key.id, relay, UnmuteBody(room_id=room_id, user_id=user_id)
            )
            detail.append(f"command {cmd.id}")
            return cmd

    async def close_room(self, key: ApiKey, room_id: str, reason: str) -> CommandRecord:
        """Tell the relay to close the room, then release its allocation so new
        joins get a fresh room."""
        async with self._audit.action(
            key, "room.close", room_id, ok_status=202, reason=reason
        ) as detail:
            relay = await self._room_relay(room_id)
            cmd = await self._commands.send(
                key.id, relay, CloseRoomBody(room_id=room_id, reason=reason)
            )
            await self._alloc.release_room(room_id)
            detail.append(f"command {cmd.id}")
            return cmd

    async def announce(
        self,
        key: ApiKey,
        scope: Literal["room", "world", "everyone"],
        room_id: str,
        world_id: str,
        text: str,
    ) -> CommandRecord:
        target = room_id if scope == "room" else (world_id if scope == "world" else "*")
        async with self._audit.action(
            key, "announce", f"{scope}:{target}", ok_status=202
        ) as detail:
            if scope == "room" and not room_id:
                raise InvalidInput("room_id is required for scope room")
            if scope == "world" and not world_id:
                raise InvalidInput("world_id is required for scope world")
            relay = await self._room_relay(room_id) if scope == "room" else ""
            cmd = await self._commands.send(
                key.id,
                relay,
                AnnounceBody(
                    scope=scope,
                    room_id=room_id if scope == "room" else "",
                    world_id=world_id if scope == "world" else "",
                    text=text,
                ),
            )
            detail.append(f"command {cmd.id}")
            return cmd

    async def drain(
        self, key: ApiKey, relay_id: str, deadline_seconds: int, reason: str
    ) -> CommandRecord:
        """Stop placing rooms on the relay's current incarnation at once, then tell
        it to drain. The mark is for the boot id of its heartbeat: a later process
        under the same id is not drained (decisions/009)."""
        async with self._audit.action(
            key,
            "relay.drain",
            relay_id,
            ok_status=202,
            reason=reason,
            duration_seconds=deadline_seconds,
        ) as detail:
            live = {r.relay_id: r for r in await self._alloc.relays()}
            if relay_id not in live:
                raise NotFound(f"relay {relay_id} is not live")
            boot_id = live[relay_id].boot_id
            await self._alloc.mark_draining(relay_id, boot_id)
            cmd = await self._commands.send(
                key.id, relay_id, DrainBody(deadline_seconds=deadline_seconds, reason=reason)
            )
            detail.append(f"boot {boot_id or '-'}; reason: {reason}; command {cmd.id}")
            return cmd

    async def undrain(self, key: ApiKey, relay_id: str, reason: str) -> Undrained:
        """Remove the control plane's drain mark: rooms may be placed on the relay
        again. No command is sent: a relay process that already began draining
        still exits, and its next incarnation is not drained."""
        async with self._audit.action(key, "relay.undrain", relay_id, reason=reason) as detail:
            removed = await self._alloc.unmark_draining(relay_id)
            detail.append(f"reason: {reason}" + ("" if removed else "; was not drained"))
            return Undrained(relay_id=relay_id, undrained=removed)

    async def warm_bans(self) -> int:
        """Rewrite the ban cache from MongoDB (startup and periodic repair)."""
        now = self._clock()
        n = 0
        for ban in await self._bans.all():
            if ban.active(now):
                await self._cache.put_ban(ban)
                n += 1
        return n
