"""Seats follow the relays' member events through the control planes' ``seats``
consumer group (docs/decisions/006-seat-confirmation.md), also when one control
plane dies in the middle of a join storm."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import redis.asyncio as aioredis

from .cluster import Cluster
from .player import Player

CONFIRMED = 9007199254740991
PLAYERS = 24


async def _until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(0.2)


async def test_seats_are_confirmed_and_freed_while_a_control_plane_dies(
    fresh_cluster: Cluster,
) -> None:
    alloc = f"{fresh_cluster.prefix}{{alloc}}:"
    survivor, victim = fresh_cluster.controls[1], fresh_cluster.controls[0]
    players = [Player(survivor.url, f"seat{i}") for i in range(PLAYERS)]
    r = aioredis.Redis.from_url(fresh_cluster.redis_url)

    async def seats() -> dict[str, float]:
        out: dict[str, float] = {}
        for p in players:
            assert p.joined is not None
            score = await r.zscore(f"{alloc}room:{p.joined.room_id}:seats", p.user_id)
            if score is not None:
                out[p.user_id] = score
        return out

    async def confirmed() -> bool:
        s = await seats()
        return len(s) == PLAYERS and all(v == CONFIRMED for v in s.values())

    try:
        async with httpx.AsyncClient(timeout=20) as http:
            await asyncio.gather(*(p.sign_in(http) for p in players))
            storm = asyncio.gather(*(p.join_and_connect(http) for p in players))
            await asyncio.sleep(0.3)
            victim.process.kill()  # its consumers' unacknowledged entries stay pending
            await storm
        fresh_cluster.controls.remove(victim)
        # Claimed from the dead consumer after PLAZA_EVENTS_CLAIM_IDLE_MS (2 s).
        await _until(confirmed, 20, "every seat confirmed")
        raw: Any = await r.hgetall(f"{alloc}relay_seats")
        seats_by_relay = {k.decode(): int(v) for k, v in raw.items()}
        assert sum(seats_by_relay.values()) == PLAYERS, seats_by_relay

        leaving, staying = players[: PLAYERS // 2], players[PLAYERS // 2 :]
        await asyncio.gather(*(p.close() for p in leaving))

        async def freed() -> bool:
            s = await seats()
            return set(s) == {p.user_id for p in staying}

        await _until(freed, 20, "the leavers' seats freed")
        assert all(v == CONFIRMED for v in (await seats()).values())
        total = sum(int(v) for v in (await r.hgetall(f"{alloc}relay_seats")).values())
        assert total == len(staying)

        async def acked() -> bool:
            groups = {
                g["name"].decode(): g for g in await r.xinfo_groups(f"{fresh_cluster.prefix}events")
            }
            return int(groups["seats"]["pending"]) == 0 and int(groups["seats"]["lag"] or 0) == 0

        await _until(acked, 20, "the seats group acknowledged everything")
    finally:
        await asyncio.gather(*(p.close() for p in players))
        await r.aclose()
