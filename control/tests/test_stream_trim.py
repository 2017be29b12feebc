"""Trimming ``P events`` behind every consumer group (events/stream_trim.py) on
real Redis: entries every group acknowledged go, nothing pending or undelivered
in any group ever does, and replicas trimming at once change nothing of that."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from plaza_control.events.stream_trim import point_age_ms, trim_acknowledged, trim_point
from plaza_control.keyspace import Keyspace
from plaza_control.settings import Settings

GROUPS = ("control", "seats")
#: Redis' default stream-node-max-entries: MINID ~ trims whole nodes only.
NODE = 100


@pytest.fixture
async def r(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def stream(settings: Settings) -> str:
    return Keyspace(settings.redis_prefix).events


async def add(r: aioredis.Redis, stream: str, n: int) -> list[str]:
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(stream, {"e": f"x{i}".encode()})
    return [i.decode() for i in await pipe.execute()]


async def read(r: aioredis.Redis, stream: str, group: str, n: int) -> list[str]:
    res: Any = await r.xreadgroup(group, "c1", {stream: ">"}, count=n)
    return [e[0].decode() for e in res[0][1]] if res else []


def key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


async def groups(r: aioredis.Redis, stream: str, *names: str) -> None:
    for g in names:
        await r.xgroup_create(stream, g, id="0", mkstream=True)


async def test_no_stream_or_a_missing_group_trims_nothing(r: aioredis.Redis, stream: str) -> None:
    assert await trim_point(r, stream, GROUPS) == ""
    await add(r, stream, 300)
    assert (await trim_acknowledged(r, stream, GROUPS)).point == ""  # no group yet
    await groups(r, stream, "control")
    ids = await read(r, stream, "control", 300)
    await r.xack(stream, "control", *ids)
    res = await trim_acknowledged(r, stream, GROUPS)  # seats missing: it starts at 0
    assert (res.point, res.trimmed, res.length) == ("", 0, 300)


async def test_trims_to_the_oldest_pending_entry_of_any_group(
    r: aioredis.Redis, stream: str
) -> None:
    await groups(r, stream, *GROUPS)
    ids = await add(r, stream, 1000)
    await r.xack(stream, "control", *await read(r, stream, "control", 1000))
    delivered = await read(r, stream, "seats", 600)
    await r.xack(stream, "seats", *delivered[:500])  # 100 pending, 400 undelivered
    res = await trim_acknowledged(r, stream, GROUPS)
    assert res.point == ids[500]
    assert res.trimmed > 0
    assert 500 <= res.length <= 500 + NODE
    # Every pending entry still has its fields, every undelivered one comes.
    pending: Any = await r.xreadgroup("seats", "c1", {stream: "0"}, count=1000)
    assert [e[0].decode() for e in pending[0][1]] == ids[500:600]
    assert all(e[1] for e in pending[0][1])
    assert await read(r, stream, "seats", 1000) == ids[600:]


async def test_nothing_pending_trims_to_the_last_delivered_entry(
    r: aioredis.Redis, stream: str
) -> None:
    await groups(r, stream, *GROUPS)
    ids = await add(r, stream, 1000)
    for g in GROUPS:
        await r.xack(stream, g, *await read(r, stream, g, 700))
    res = await trim_acknowledged(r, stream, GROUPS)
    assert res.point == ids[699]
    assert 301 <= res.length <= 301 + NODE
    assert await read(r, stream, "control", 1000) == ids[700:]


async def test_a_group_this_version_does_not_know_holds_the_point_too(
    r: aioredis.Redis, stream: str
) -> None:
    await groups(r, stream, *GROUPS, "analytics")
    ids = await add(r, stream, 500)
    for g in GROUPS:
        await r.xack(stream, g, *await read(r, stream, g, 500))
    await read(r, stream, "analytics", 50)  # delivered, never acknowledged
    assert await trim_point(r, stream, GROUPS) == ids[0]
    assert (await trim_acknowledged(r, stream, GROUPS)).length == 500


async def test_a_stuck_group_holds_the_point_and_its_age_grows(
    r: aioredis.Redis, stream: str
) -> None:
    await groups(r, stream, *GROUPS)
    ids = await add(r, stream, 10)
    await read(r, stream, "seats", 1)  # seats stuck on its first entry
    await r.xack(stream, "control", *await read(r, stream, "control", 10))
    point = await trim_point(r, stream, GROUPS)
    assert point == ids[0]
    ms = int(point.split("-")[0])
    assert point_age_ms(point, ms + 90_000) == 90_000
    assert point_age_ms("", ms) == 0


async def test_replicas_trimming_while_groups_consume_lose_nothing_unacknowledged(
    r: aioredis.Redis, stream: str
) -> None:
    """Three trimmers run while two groups read and acknowledge at their own
    pace; afterwards every entry some group has not acknowledged is still
    there with its fields."""
    await groups(r, stream, *GROUPS)
    ids = await add(r, stream, 3000)
    acked: dict[str, set[str]] = {g: set() for g in GROUPS}
    rng = random.Random(15)
    stop = asyncio.Event()

    async def consume(group: str) -> None:
        held: list[list[str]] = []  # pending entries, by round
        while True:
            got = await read(r, stream, group, rng.randint(1, 80))
            if not got:
                return
            cut = rng.randint(0, len(got))  # the rest stays pending a few rounds
            held.append(got[cut:])
            late = held.pop(0) if len(held) > 3 else []
            if got[:cut] or late:
                await r.xack(stream, group, *got[:cut], *late)
                acked[group].update(got[:cut], late)
            await asyncio.sleep(0)

    async def trimmer() -> None:
        while not stop.is_set():
            await trim_acknowledged(r, stream, GROUPS)
            await asyncio.sleep(0)

    trimmers = [asyncio.create_task(trimmer()) for _ in range(3)]
    await asyncio.gather(*(consume(g) for g in GROUPS))
    stop.set()
    await asyncio.gather(*trimmers)
    await trim_acknowledged(r, stream, GROUPS)
    entries: Any = await r.xrange(stream)
    present = {e[0].decode(): e[1] for e in entries}
    unacked = {i for i in ids if any(i not in acked[g] for g in GROUPS)}
    assert unacked, "the test must leave entries pending"
    assert unacked <= set(present)
    assert all(present[i] for i in unacked)
    assert len(present) < len(ids), "acknowledged entries must have gone"
    oldest = min(unacked, key=key)
    assert len([i for i in present if key(i) < key(oldest)]) <= NODE
