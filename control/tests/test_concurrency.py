"""Concurrent joins against real server processes: no room over capacity, no room
on two relays, seat counters exact; rate limits hold across processes."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import httpx
import jwt
import msgspec
import redis.asyncio as aioredis

from plaza_control.keyspace import Keyspace
from plaza_control.models import Role
from plaza_control.settings import Settings

from .conftest import cleanup, make_settings
from .helpers import (
    free_port,
    make_api_key,
    relay,
    server_process,
    session_token,
    user_id,
    write_heartbeat,
)

JOINS = 200
CAPACITY = 7
RELAYS = ("relay-a", "relay-b", "relay-c")


async def _prepare(settings: Settings, base: str) -> None:
    r = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    for rid in RELAYS:
        await write_heartbeat(r, keyspace, relay(rid, capacity=10_000))
    await r.aclose()
    admin = await make_api_key(settings, Role.ADMIN)
    async with httpx.AsyncClient() as c:
        resp = await c.post(
            f"{base}/v1/ops/worlds",
            json={"id": "plaza", "name": "Plaza", "settings": {"room_capacity": CAPACITY}},
            headers={"X-API-Key": admin},
        )
        assert resp.status_code == 201, resp.text


async def _join_all(settings: Settings, bases: list[str]) -> list[dict[str, object]]:
    tokens = [session_token(settings, user_id(i)) for i in range(JOINS)]
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=30) as c:

        async def one(i: int) -> dict[str, object]:
            resp = await c.post(
                f"{bases[i % len(bases)]}/v1/join",
                json={"world_id": "plaza"},
                headers={"Authorization": f"Bearer {tokens[i]}"},
            )
            assert resp.status_code == 200, resp.text
            body: dict[str, object] = resp.json()
            return body

        return list(await asyncio.gather(*(one(i) for i in range(JOINS))))


async def _check(settings: Settings, results: list[dict[str, object]]) -> None:
    per_room: dict[str, set[str]] = collections.defaultdict(set)
    members: collections.Counter[str] = collections.Counter()
    for res in results:
        room, relay_id = str(res["room_id"]), str(res["relay_id"])
        aud = jwt.decode(str(res["ticket"]), options={"verify_signature": False})["aud"]
        assert aud == relay_id
        per_room[room].add(relay_id)
        members[room] += 1
    assert all(len(relays) == 1 for relays in per_room.values()), per_room
    assert max(members.values()) <= CAPACITY
    # Fullest-first packing: every room but possibly the last few is full.
    assert len(members) <= -(-JOINS // CAPACITY) + 2
    r = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    try:
        for room, relays in per_room.items():
            assert (await r.hget(keyspace.room(room), "relay")) == next(iter(relays)).encode()
            assert await r.zcard(keyspace.room_seats(room)) == members[room]
        raw_seats = await r.hgetall(keyspace.relay_seats)
        seats = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw_seats.items()}
        assert sum(seats.values()) == JOINS
        by_relay = collections.Counter(str(res["relay_id"]) for res in results)
        assert seats == dict(by_relay)
    finally:
        await r.aclose()


async def test_200_concurrent_joins_one_process(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, port=free_port(), relay_cache_ms=0)
    try:
        with server_process(settings) as base:
            await _prepare(settings, base)
            results = await _join_all(settings, [base])
        await _check(settings, results)
    finally:
        await cleanup(settings)


async def test_200_concurrent_joins_two_processes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, port=free_port(), relay_cache_ms=0, signin_per_ip=10)
    other = msgspec.structs.replace(settings, port=free_port())
    try:
        with server_process(settings) as base_a, server_process(other) as base_b:
            await _prepare(settings, base_a)
            results = await _join_all(settings, [base_a, base_b])
            await _check(settings, results)
            # The sign-in limit (10 per IP per window) is shared through Redis.
            async with httpx.AsyncClient() as c:
                codes = []
                for i in range(12):
                    resp = await c.post(
                        f"{(base_a, base_b)[i % 2]}/v1/auth/guest",
                        json={"device_id": f"device-{i:04d}-0123456789", "display_name": "Ann"},
                    )
                    codes.append(resp.status_code)
            assert codes.count(200) == 10
            assert codes.count(429) == 2
    finally:
        await cleanup(settings)
