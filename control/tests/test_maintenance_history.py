"""The control plane's maintenance loops bound the two histories of decision
016 on their own: a running app (background loops on, short intervals) trims
``P events`` once both groups acknowledged its entries, forgets an ended
room's ``A room_lifetimes`` field, and shows both on /metrics."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import msgspec
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from plaza_control.app import create_app
from plaza_control.keyspace import Keyspace
from plaza_control.settings import Settings


def metric(text: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, f"/metrics has no {name}"
    return float(m.group(1))


async def test_a_running_app_trims_the_stream_and_forgets_ended_lifetimes(
    settings: Settings, tmp_path: Path
) -> None:
    s = msgspec.structs.replace(
        settings,
        events_consumer=False,  # the test plays both groups
        events_trim_interval_seconds=0.1,
        lifetimes_forget_interval_seconds=0.1,
    )
    k = Keyspace(s.redis_prefix)
    r = aioredis.Redis.from_url(s.redis_url)
    try:
        for g in (s.events_group, s.events_seats_group):
            await r.xgroup_create(k.events, g, id="0", mkstream=True)
        pipe = r.pipeline(transaction=False)
        for i in range(1000):
            pipe.xadd(k.events, {"e": b"x%d" % i})
        await pipe.execute()
        for g in (s.events_group, s.events_seats_group):
            res: Any = await r.xreadgroup(g, "c", {k.events: ">"}, count=1000)
            await r.xack(k.events, g, *[e[0] for e in res[0][1]])
        # An ended room (no allocation, no snapshot) and an open one.
        await r.hset(k.room_lifetimes, mapping={"hall": 4, "open": 2})
        await r.hset(k.room("open"), mapping={"world": "lobby", "lifetime": 2})
        async with AsyncTestClient(create_app(s), base_url="http://127.0.0.1") as c:
            deadline = asyncio.get_running_loop().time() + 10
            while asyncio.get_running_loop().time() < deadline:
                fields = await r.hgetall(k.room_lifetimes)
                if await r.xlen(k.events) <= 100 and b"hall" not in fields:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)  # one more round of both loops
            text = (await c.get("/metrics")).text
        assert await r.xlen(k.events) <= 100
        assert await r.hgetall(k.room_lifetimes) == {b"open": b"2", b":floor": b"4"}
        assert metric(text, "plaza_control_events_stream_length") <= 100
        assert metric(text, "plaza_control_events_trimmed_entries_total") >= 900
        assert metric(text, "plaza_control_room_lifetimes_fields") == 1
        assert metric(text, "plaza_control_room_lifetimes_forgotten_total") == 1
        assert metric(text, "plaza_control_events_trim_point_age_seconds") >= 0
    finally:
        await r.aclose()
