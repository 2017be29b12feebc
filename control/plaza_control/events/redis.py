"""Redis stores of the event side (``events.contracts``): the events stream
(``P events``, docs/redis.md) read through a consumer group, and the allocation
scripts the seat consumer drives."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from plaza_control.events.models import Entry, GroupInfo
from plaza_control.keyspace import Keyspace
from plaza_control.repositories.redis import RedisScripts
from plaza_control.repositories.snapshots import forget_ended_snapshot

Redis = aioredis.Redis


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _entries(raw: Any) -> list[Entry]:
    out: list[Entry] = []
    for entry_id, fields in raw or []:
        # An entry trimmed (MAXLEN) while pending comes back with no fields.
        out.append((_s(entry_id), dict(fields or {})))
    return out


def entry_before(entry_id: str) -> str:
    """The largest stream id smaller than ``entry_id`` (``0`` for the first)."""
    ms, _, seq = entry_id.partition("-")
    if int(seq or 0) > 0:
        return f"{ms}-{int(seq) - 1}"
    if int(ms) > 0:
        return f"{int(ms) - 1}-{2**64 - 1}"
    return "0"


class RedisEventStream:
    """``events.contracts.EventStream``: one consumer of one group (``control``
    or ``seats``).

    ``siblings``: the other groups of this version, created together with this
    one (one MULTI, all at 0). ``follow``: a group that, when it exists without
    this one, was created by a version without this group (an upgrade); this
    group then starts where ``follow`` still has work instead of at 0."""

    def __init__(
        self,
        client: Redis,
        keyspace: Keyspace,
        group: str,
        consumer: str,
        *,
        siblings: tuple[str, ...] = (),
        follow: str = "",
    ) -> None:
        self._r = client
        self.stream = keyspace.events
        self.group = group
        self.consumer = consumer
        self._siblings = tuple(g for g in siblings if g != group)
        self._follow = follow if follow != group else ""

    async def _groups(self) -> dict[str, dict[Any, Any]]:
        try:
            infos = await self._r.xinfo_groups(self.stream)
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return {}
            raise
        return {_s(g.get("name", b"")): g for g in infos}

    async def ensure_group(self) -> bool:
        """Create the group (and the stream) if missing; True if created now.

        New groups start at 0, not $, which keeps events a relay wrote before the
        first control plane started (or after Redis lost the groups), and are
        created with their siblings in one transaction, so no process ever sees
        one of them without the others. Only a group left by an older version
        (``follow`` present, this group absent) makes this group start later:
        just before ``follow``'s oldest unacknowledged entry, else after its last
        delivered one. Everything before was applied by that older version."""
        groups = await self._groups()
        if self.group in groups:
            return False
        try:
            if self._follow and self._follow in groups:
                start = await self._position(self._follow, groups[self._follow])
                await self._r.xgroup_create(self.stream, self.group, id=start, mkstream=True)
                return True
            pipe = self._r.pipeline(transaction=True)
            for g in (self.group, *self._siblings):
                pipe.xgroup_create(self.stream, g, id="0", mkstream=True)
            results = await pipe.execute(raise_on_error=False)
        except ResponseError as exc:
            if "BUSYGROUP" in str(exc):
                return False
            raise
        mine = results[0]
        for res in results:
            if isinstance(res, Exception) and "BUSYGROUP" not in str(res):
                raise res
        return not isinstance(mine, Exception)

    async def _position(self, group: str, info: dict[Any, Any]) -> str:
        if int(info.get("pending") or 0) > 0:
            summary: Any = await self._r.xpending(self.stream, group)
            oldest = summary.get("min") if summary else None
            if oldest:
                return entry_before(_s(oldest))
        return _s(info.get("last-delivered-id") or b"0")

    async def read(self, count: int, block_ms: int, pending: bool) -> list[Entry]:
        res: Any = await self._r.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: "0" if pending else ">"},
            count=count,
            block=None if pending else block_ms,
        )
        if not res:
            return []
        _name, entries = res[0]
        return _entries(entries)

    async def claim(
        self, min_idle_ms: int, count: int, start: str = "0-0"
    ) -> tuple[str, list[Entry]]:
        """XAUTOCLAIM entries idle longer than ``min_idle_ms`` (their consumer is
        presumed dead) into this consumer. Returns the next start id ('0-0' when
        the pending list was scanned to its end) and the claimed entries."""
        res = await self._r.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_ms, start_id=start, count=count
        )
        return _s(res[0]), _entries(res[1])

    async def ack(self, ids: list[str]) -> int:
        if not ids:
            return 0
        return int(await self._r.xack(self.stream, self.group, *ids))

    async def info(self) -> GroupInfo:
        g = (await self._groups()).get(self.group)
        if g is None:
            return GroupInfo(0, -1)
        lag = g.get("lag")
        return GroupInfo(int(g.get("pending") or 0), -1 if lag is None else int(lag))

    async def forget_idle_consumers(self, idle_ms: int) -> int:
        """Delete consumers of the group with nothing pending, idle longer than
        ``idle_ms`` (each process start adds one name)."""
        n = 0
        for c in await self._r.xinfo_consumers(self.stream, self.group):
            name = _s(c.get("name", b""))
            idle = int(c.get("pending", 0)) == 0 and int(c.get("idle", 0)) > idle_ms
            if name != self.consumer and idle:
                await self._r.xgroup_delconsumer(self.stream, self.group, name)
                n += 1
        return n


class RedisEventSeats:
    """Seat and room scripts with the reporting relay as a guard, and the relay's
    session id as the idempotency key of member events (docs/redis.md)."""

    def __init__(
        self, client: Redis, keyspace: Keyspace, scripts: RedisScripts, ended_ttl_ms: int = 0
    ) -> None:
        self._r = client
        self._k = keyspace
        self._s = scripts
        self._ended_ttl_ms = ended_ttl_ms

    async def confirm(
        self, room_id: str, user_id: str, relay_id: str, session_id: str = "", lifetime: int = 0
    ) -> int:
        """1 confirmed; 0 room unknown; -1 room on another relay; -2 session ended;
        -3 room in another lifetime."""
        res = await self._s["seat_confirm"](
            keys=[self._k.relays],
            args=[self._k.alloc, room_id, user_id, relay_id, session_id, lifetime],
        )
        return int(res)

    async def release(
        self,
        room_id: str,
        user_id: str,
        relay_id: str,
        now_ms: int,
        session_id: str = "",
        lifetime: int = 0,
    ) -> bool:
        res = await self._s["seat_release"](
            keys=[self._k.relays],
            args=[
                self._k.alloc,
                room_id,
                user_id,
                now_ms,
                relay_id,
                session_id,
                self._ended_ttl_ms if session_id else 0,
                lifetime,
            ],
        )
        return bool(res)

    async def release_room(self, room_id: str, relay_id: str, lifetime: int = 0) -> str:
        res = await self._s["room_release"](
            keys=[self._k.relays], args=[self._k.alloc, room_id, relay_id, lifetime]
        )
        # Also when nothing was released: after an operator's close the relay's
        # final save comes before its RoomClosed (docs/redis.md, Bounded keys).
        await forget_ended_snapshot(self._r, self._k, room_id)
        return _s(res)
