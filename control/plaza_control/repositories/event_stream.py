"""The events stream (``P events``, docs/redis.md) read through a consumer group,
and the allocation scripts the consumer drives."""

from __future__ import annotations

from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from plaza_control.redis_keys import RedisKeys
from plaza_control.repositories.redis import RedisScripts

Redis = aioredis.Redis
#: One stream entry: its id and its fields (raw bytes).
Entry = tuple[str, dict[bytes, bytes]]


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _entries(raw: Any) -> list[Entry]:
    out: list[Entry] = []
    for entry_id, fields in raw or []:
        # An entry trimmed (MAXLEN) while pending comes back with no fields.
        out.append((_s(entry_id), dict(fields or {})))
    return out


class GroupInfo(msgspec.Struct, frozen=True):
    """Entries delivered but not acknowledged, and entries not yet delivered
    (``lag``; -1 when Redis cannot tell, e.g. after a trim)."""

    pending: int
    lag: int


class RedisEventStream:
    """One consumer of the ``control`` group. Not thread-safe; one task uses it.

    Contract: ``read`` with ``pending=True`` returns this consumer's delivered but
    unacknowledged entries (from the start of its pending list), else new ones,
    blocking up to ``block_ms``. Nothing is acknowledged until ``ack``."""

    def __init__(self, client: Redis, keys: RedisKeys, group: str, consumer: str) -> None:
        self._r = client
        self.stream = keys.events
        self.group = group
        self.consumer = consumer

    async def ensure_group(self) -> bool:
        """Create the group (and the stream) at the start of the stream; True if
        created now. Starting at 0, not $, keeps events a relay wrote before the
        first control plane started (or after Redis lost the group)."""
        try:
            await self._r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" in str(exc):
                return False
            raise
        return True

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
        for g in await self._r.xinfo_groups(self.stream):
            if _s(g.get("name", b"")) == self.group:
                lag = g.get("lag")
                return GroupInfo(int(g.get("pending") or 0), -1 if lag is None else int(lag))
        return GroupInfo(0, -1)

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
    """Seat and room scripts with the reporting relay as a guard."""

    def __init__(self, client: Redis, keys: RedisKeys, scripts: RedisScripts) -> None:
        self._k = keys
        self._s = scripts

    async def confirm(self, room_id: str, user_id: str, relay_id: str) -> bool:
        res = await self._s["seat_confirm"](
            keys=[self._k.relays], args=[self._k.alloc, room_id, user_id, relay_id]
        )
        return int(res) == 1

    async def release(self, room_id: str, user_id: str, relay_id: str, now_ms: int) -> bool:
        res = await self._s["seat_release"](
            keys=[self._k.relays], args=[self._k.alloc, room_id, user_id, now_ms, relay_id]
        )
        return bool(res)

    async def release_room(self, room_id: str, relay_id: str) -> str:
        res = await self._s["room_release"](
            keys=[self._k.relays], args=[self._k.alloc, room_id, relay_id]
        )
        return _s(res)
