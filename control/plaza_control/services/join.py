"""The join path: session → ban and config from cache → atomic placement → ticket.

Touches Redis only (never MongoDB): world configs and bans come from the Redis
cache, the relay list from heartbeat keys, placement from join.lua.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator

import msgspec

from plaza_control import placement
from plaza_control.clock import Clock
from plaza_control.errors import (
    Banned,
    Conflict,
    NoRelayAvailable,
    NotFound,
    RateLimited,
    RoomFull,
    Unavailable,
    spread_ms,
)
from plaza_control.models import PERMISSIONS, RelayInfo, WorldSettings
from plaza_control.repositories.base import Allocator, JoinGate, JoinRequest
from plaza_control.services.players import ban_detail
from plaza_control.tokens import SessionClaims, TicketMinter


class JoinPolicy(msgspec.Struct, frozen=True, kw_only=True):
    reservation_ms: int
    relay_cache_ms: int
    scan_limit: int
    window_ms: int
    per_ip: int
    per_user: int
    #: Seconds a client should wait before retrying a 503/409.
    retry_after_seconds: int = 2
    #: Bound on a join's Redis time (both round trips together); past it the
    #: join answers 503 ``unavailable`` and the connection in use is dropped.
    redis_timeout_ms: int = 5000


class Joined(msgspec.Struct, frozen=True, kw_only=True):
    room_id: str
    world_id: str
    relay_id: str
    relay_url: str
    region: str
    ticket: str
    ticket_expires_at: int
    world_version: int
    settings: WorldSettings
    created: bool
    #: The room's lifetime (decisions/009), also the ticket's ``rlt``.
    room_lifetime: int


class JoinService:
    def __init__(
        self,
        *,
        gate: JoinGate,
        allocator: Allocator,
        minter: TicketMinter,
        policy: JoinPolicy,
        clock: Clock,
    ) -> None:
        self._gate = gate
        self._alloc = allocator
        self._minter = minter
        self._policy = policy
        self._clock = clock
        self._relays: list[RelayInfo] = []
        self._relays_at = float("-inf")
        self._refresh: asyncio.Future[list[RelayInfo]] | None = None

    async def _live_relays(self) -> list[RelayInfo]:
        """Heartbeats, cached briefly per process. Staleness is safe: join.lua
        re-checks every candidate's heartbeat key inside the atomic step. One
        refresh at a time: concurrent joins at expiry share it."""
        if (time.monotonic() - self._relays_at) * 1000 < self._policy.relay_cache_ms:
            return self._relays
        if self._refresh is None:
            self._refresh = asyncio.ensure_future(self._alloc.relays())
            try:
                self._relays = await self._refresh
                self._relays_at = time.monotonic()
            finally:
                self._refresh = None
            return self._relays
        return await asyncio.shield(self._refresh)

    @contextlib.asynccontextmanager
    async def _redis_time_bound(self) -> AsyncIterator[None]:
        """``JoinPolicy.redis_timeout_ms`` over the block; past it 503 ``unavailable``."""
        try:
            async with asyncio.timeout(self._policy.redis_timeout_ms / 1000):
                yield
        except TimeoutError:
            raise Unavailable(
                f"redis did not answer within {self._policy.redis_timeout_ms} ms; retry later",
                retry_after_ms=spread_ms(self._policy.retry_after_seconds * 1000),
            ) from None

    async def join(
        self,
        session: SessionClaims,
        world_id: str,
        room_id: str | None,
        region: str | None,
        resume_session_id: str | None,
        ip: str,
    ) -> Joined:
        """One timeout for the whole join (its Redis pool has no per-read one)."""
        async with self._redis_time_bound():
            p = self._policy
            # One round trip: count the join, read the world config and the ban.
            adm = await self._gate.admit(
                [("join-ip", ip, p.per_ip), ("join-user", session.sub, p.per_user)],
                p.window_ms,
                world_id,
                session.sub,
            )
            wait, world, ban, mute = adm.wait_ms, adm.world, adm.ban, adm.mute
            if wait is not None:
                raise RateLimited("too many joins", retry_after_ms=max(1, wait))
            now_ms = self._clock()
            if ban is not None and ban.active(now_ms):
                raise Banned("this account is banned", extra=ban_detail(ban))
            if world is None:
                raise NotFound(f"world {world_id} not found")
            relays = await self._live_relays()
            outcome = await self._alloc.join(
                JoinRequest(
                    user_id=session.sub,
                    world_id=world_id,
                    room_capacity=world.settings.room_capacity,
                    empty_grace_ms=world.settings.empty_grace_seconds * 1000,
                    wanted_room=room_id or "",
                    new_room_id=f"{world_id}.{secrets.token_hex(6)}",
                    now_ms=now_ms,
                    reservation_ms=p.reservation_ms,
                    scan_limit=p.scan_limit,
                    candidates=placement.candidates(relays, region),
                )
            )
            if outcome.status == "room_full":
                raise RoomFull(
                    f"room {room_id} is full",
                    retry_after_ms=spread_ms(p.retry_after_seconds * 1000),
                )
            if outcome.status == "world_mismatch":
                raise Conflict(f"room {room_id} belongs to another world")
            if outcome.status == "no_relay" or outcome.relay is None:
                self._relays_at = float("-inf")
                raise NoRelayAvailable(
                    "no live relay has room for this world; retry later",
                    retry_after_ms=spread_ms(p.retry_after_seconds * 1000),
                )
            relay = outcome.relay
            ticket = self._minter.mint(
                user_id=session.sub,
                relay_id=relay.relay_id,
                room_id=outcome.room_id,
                world_id=world_id,
                world_version=world.version,
                name=session.name,
                perms=PERMISSIONS,
                now=now_ms // 1000,
                room_lifetime=outcome.room_lifetime,
                muted_until_ms=0 if mute is None else mute.claim(outcome.room_id, now_ms),
                resume_session_id=resume_session_id,
            )
            return Joined(
                room_id=outcome.room_id,
                world_id=world_id,
                relay_id=relay.relay_id,
                relay_url=relay.public_url,
                region=relay.region,
                ticket=ticket.token,
                ticket_expires_at=ticket.expires_at,
                world_version=world.version,
                settings=world.settings,
                created=outcome.created,
                room_lifetime=outcome.room_lifetime,
            )
