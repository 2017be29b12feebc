"""Bounding ``A room_lifetimes`` (docs/decisions/016) on real Redis: fields of
ended rooms are forgotten after two passes, never while the room is allocated
or its snapshot is still there, and a room id's lifetime numbers still never
repeat (decision 009) however forgetting and reopening interleave."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from plaza_control import redis_scripts
from plaza_control.events.lifetimes import FLOOR_FIELD, LifetimeForgetter
from plaza_control.keyspace import Keyspace
from plaza_control.repositories.redis import RedisAllocator, RedisScripts
from plaza_control.settings import Settings

from .helpers import relay, write_heartbeat
from .test_allocator import req
from .test_bounded_keys import snapshot


@dataclass
class Bed:
    r: aioredis.Redis
    k: Keyspace
    alloc: RedisAllocator
    forgetter: LifetimeForgetter

    async def open(self, room: str, n: int = 1) -> int:
        a = relay("relay-a")
        await write_heartbeat(self.r, self.k, a)
        out = await self.alloc.join(req(n, [a], wanted=room))
        assert out.status == "ok"
        return out.room_lifetime

    async def fields(self) -> dict[str, int]:
        raw: dict[bytes, bytes] = await self.r.hgetall(self.k.room_lifetimes)  # type: ignore[assignment]
        return {k.decode(): int(v) for k, v in raw.items()}


@pytest.fixture
async def bed(settings: Settings) -> AsyncIterator[Bed]:
    r = aioredis.Redis.from_url(settings.redis_url)
    k = Keyspace(settings.redis_prefix)
    yield Bed(r, k, RedisAllocator(r, k, RedisScripts(r)), LifetimeForgetter(r, k))
    await r.aclose()


async def test_an_ended_rooms_field_goes_on_the_second_pass_and_its_id_reopens_higher(
    bed: Bed,
) -> None:
    first = await bed.open("hall")
    await bed.alloc.release_room("hall")
    assert (await bed.forgetter.run_once()).forgotten == 0  # first sighting
    res = await bed.forgetter.run_once()
    assert (res.fields, res.forgotten) == (1, 1)
    assert await bed.fields() == {FLOOR_FIELD.decode(): first}
    # Asked for again (a client may name any room id): a new, higher lifetime,
    # so a ticket or snapshot of the first one matches nothing.
    again = await bed.open("hall", n=2)
    assert again > first
    assert int(await bed.r.hget(bed.k.room("hall"), "lifetime") or 0) == again


async def test_an_allocated_rooms_field_is_never_forgotten(bed: Bed) -> None:
    life = await bed.open("hall")
    for _ in range(4):
        assert (await bed.forgetter.run_once()).forgotten == 0
    assert (await bed.fields())["hall"] == life


async def test_a_field_waits_for_its_rooms_snapshot_to_go(bed: Bed) -> None:
    """The snapshot delete reads the field (repositories/snapshots.py): while
    the snapshot exists the field stays."""
    life = await bed.open("hall")
    await bed.alloc.release_room("hall")
    await bed.r.set(bed.k.room_snapshot("hall"), snapshot("hall", life))  # a late save
    for _ in range(3):
        assert (await bed.forgetter.run_once()).forgotten == 0
    await bed.r.delete(bed.k.room_snapshot("hall"))
    assert (await bed.forgetter.run_once()).forgotten == 1


async def test_a_lifetime_that_began_between_passes_keeps_its_field(bed: Bed) -> None:
    await bed.open("hall")
    await bed.alloc.release_room("hall")
    await bed.forgetter.run_once()  # sees lifetime 1 unallocated
    second = await bed.open("hall", n=2)
    await bed.alloc.release_room("hall")
    # Unallocated again, but with another value than last pass: not yet.
    assert (await bed.forgetter.run_once()).forgotten == 0
    assert (await bed.fields())["hall"] == second
    assert (await bed.forgetter.run_once()).forgotten == 1
    assert (await bed.fields())[FLOOR_FIELD.decode()] == second


async def test_the_script_rechecks_allocation_and_value(bed: Bed) -> None:
    """What the pass saw may be stale by the time the script runs."""
    script = bed.r.register_script(redis_scripts.source("lifetimes_forget"))
    life = await bed.open("hall")
    args = [bed.k.alloc, "hall", str(life)]
    assert await script(keys=[bed.k.relays], args=args) == 0  # allocated now
    await bed.alloc.release_room("hall")
    assert await script(keys=[bed.k.relays], args=[bed.k.alloc, "hall", str(life + 7)]) == 0
    assert await script(keys=[bed.k.relays], args=[bed.k.alloc, ":floor", "0"]) == 0
    assert await script(keys=[bed.k.relays], args=args) == 1
    assert await bed.fields() == {":floor": life}


async def test_the_floor_is_the_largest_value_forgotten(bed: Bed) -> None:
    await bed.r.hset(bed.k.room_lifetimes, mapping={"a": 5, "b": 2, ":floor": 3})
    script = bed.r.register_script(redis_scripts.source("lifetimes_forget"))
    n = await script(keys=[bed.k.relays], args=[bed.k.alloc, "a", "5", "b", "2"])
    assert n == 2
    assert await bed.fields() == {":floor": 5}
    assert await bed.open("b") == 6  # above b's own 2 and above the floor
    assert await bed.open("fresh", n=2) == 6


async def test_churn_keeps_the_hash_small_and_no_lifetime_repeats(bed: Bed) -> None:
    """Rooms of a few ids (asked for again) and fresh ids open and close in a
    random order, with forget passes between: every lifetime a room id gets is
    above all it had, and the hash holds no more than the recent rooms."""
    rng = random.Random(16)
    given: dict[str, list[int]] = {}
    ids = [f"hall{i}" for i in range(4)]
    for step in range(120):
        room = rng.choice(ids) if rng.random() < 0.6 else f"lobby.r{step}"
        if await bed.r.exists(bed.k.room(room)) == 0:
            given.setdefault(room, []).append(await bed.open(room, n=step))
        await bed.alloc.release_room(room)
        if step % 5 == 4:
            await bed.forgetter.run_once()
        assert len(await bed.fields()) <= 1 + len(ids) + 2 * 5
    for room, lives in given.items():
        assert lives == sorted(set(lives)), f"{room}: {lives}"
