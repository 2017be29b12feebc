"""Forgetting ended rooms' fields of ``A room_lifetimes`` (docs/decisions/016).

``join.lua`` records each room id's last lifetime in ``A room_lifetimes``; with
room ids random (``<world>.<12 hex>``) that was one field per room ever opened.
A field is needed while its room is allocated (the lifetime lives) and until
the control plane has deleted the ended lifetime's snapshot (which reads the
field, ``repositories/snapshots.py``). After that, what decision 009 needs is
only that the room id's next lifetime is above every earlier one, and
``lifetimes_forget.lua`` keeps that by folding the value into the hash's
``:floor`` field before dropping the room's own field (``next_lifetime`` in
``_common.lua`` takes the larger of the two, plus one).

Each pass (every ``PLAZA_LIFETIMES_FORGET_INTERVAL_SECONDS``, by every
control plane process; each process keeps its own memory of the last pass)
forgets a room id's field only when, on this pass and on the previous one,
the room had no allocation, its field held the same value, and (this pass)
its snapshot key is gone. So a field outlives its lifetime by one to two
intervals, the snapshot delete that follows a release always finds it, and a
lifetime that began meanwhile (a new value, or an allocation, checked again
inside the script) keeps its field.
"""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis

from plaza_control import redis_scripts
from plaza_control.keyspace import Keyspace

#: The field of ``A room_lifetimes`` that is not a room id (ids contain no ':').
FLOOR_FIELD = b":floor"
#: Room ids per script call (one call holds Redis for its whole batch).
_BATCH = 500
_SCAN_COUNT = 1000


class ForgetResult(msgspec.Struct, frozen=True, kw_only=True):
    #: Room id fields before the pass (``:floor`` not counted).
    fields: int
    #: Fields dropped by this pass.
    forgotten: int


class LifetimeForgetter:
    """One process's pass over ``A room_lifetimes`` (see the module text)."""

    def __init__(self, client: aioredis.Redis, keyspace: Keyspace) -> None:
        self._r = client
        self._k = keyspace
        self._script = client.register_script(redis_scripts.source("lifetimes_forget"))
        #: Room id -> field value, for the rooms without allocation last pass.
        self._unallocated: dict[bytes, bytes] = {}

    async def _absent(self, keys: list[str]) -> list[bool]:
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        return [int(n) == 0 for n in await pipe.execute()]

    async def run_once(self) -> ForgetResult:
        fields: dict[bytes, bytes] = {}
        async for field, value in self._r.hscan_iter(self._k.room_lifetimes, count=_SCAN_COUNT):
            if field != FLOOR_FIELD:
                fields[field] = value
        rooms = list(fields)
        unallocated: dict[bytes, bytes] = {}
        for i in range(0, len(rooms), _SCAN_COUNT):
            chunk = rooms[i : i + _SCAN_COUNT]
            gone = await self._absent([self._k.room(r.decode()) for r in chunk])
            unallocated.update({r: fields[r] for r, g in zip(chunk, gone, strict=True) if g})
        ready = [r for r, v in unallocated.items() if self._unallocated.get(r) == v]
        # A forgotten room id left in this memory is harmless: its next
        # lifetime is above the floor, so never the value remembered here.
        self._unallocated = unallocated
        forgotten = 0
        for i in range(0, len(ready), _BATCH):
            chunk = ready[i : i + _BATCH]
            no_snapshot = await self._absent([self._k.room_snapshot(r.decode()) for r in chunk])
            args: list[bytes | str] = [self._k.alloc]
            for room, ok in zip(chunk, no_snapshot, strict=True):
                if ok:
                    args += [room, unallocated[room]]
            if len(args) > 1:
                forgotten += int(await self._script(keys=[self._k.relays], args=args))
        return ForgetResult(fields=len(fields), forgotten=forgotten)
