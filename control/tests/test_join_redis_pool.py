"""The join path's Redis pool (plaza_control/redis_pool.py) has no per-read
timeout (docs/control-benchmarks.md): one bound covers a whole join. A Redis
that stops answering (here: real Redis, ``CLIENT PAUSE ... WRITE``) must turn
into a quick 503, not a hung request, and the pool must work again once Redis
answers."""

from __future__ import annotations

import asyncio
import time
import warnings
from pathlib import Path

import msgspec
import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient
from redis.exceptions import ResponseError

from plaza_control.app import create_app
from plaza_control.keyspace import Keyspace
from plaza_control.models import WorldSettings
from plaza_control.redis_pool import RawCommands, join_path_client
from plaza_control.repositories.redis import RedisConfigCache
from plaza_control.settings import Settings

from .conftest import cleanup, make_settings
from .helpers import relay, session_token, user_id, write_heartbeat


async def test_join_answers_503_when_redis_stalls_and_recovers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    r = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    try:
        await RedisConfigCache(r, keyspace).put_world("lobby", 1, WorldSettings(room_capacity=50))
        await write_heartbeat(r, keyspace, relay("relay-a"))
        async with AsyncTestClient(
            create_app(settings, background=False), base_url="http://127.0.0.1"
        ) as c:
            join = c.app.state.services.join
            join._policy = msgspec.structs.replace(join._policy, redis_timeout_ms=300)

            async def post(n: int) -> tuple[int, dict[str, object], dict[str, str], float]:
                started = time.monotonic()
                resp = await c.post(
                    "/v1/join",
                    json={"world_id": "lobby"},
                    headers={"Authorization": f"Bearer {session_token(settings, user_id(n))}"},
                )
                return resp.status_code, resp.json(), dict(resp.headers), time.monotonic() - started

            status, body, _, _ = await post(1)
            assert status == 200, body
            # Writes stall (the join's rate-limit INCR and join.lua are writes).
            await r.client_pause(3000, all=False)
            try:
                status, body, headers, took = await post(2)
            finally:
                await r.client_unpause()
            assert status == 503, body
            assert body["type"] == "urn:plaza:problem:unavailable"
            assert "300 ms" in str(body["detail"])
            assert int(headers["retry-after"]) >= 1
            assert took < 2.0, f"the join waited {took:.2f} s, past its 0.3 s bound"
            # The stalled connection was dropped; the next joins get working ones.
            for n in (3, 4):
                status, body, _, _ = await post(n)
                assert status == 200, body
    finally:
        await r.aclose()
        await cleanup(settings)


async def test_join_path_pool_skips_the_deprecated_argument_check(settings: Settings) -> None:
    """redis-py's own pool inspects get_connection's arguments on every command
    (and warns when there are any); the join path's pool must not."""
    stock = aioredis.Redis.from_url(settings.redis_url)
    client = join_path_client(settings.redis_url)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            conn = await stock.connection_pool.get_connection("GET")  # type: ignore[no-untyped-call]
            await stock.connection_pool.release(conn)
        assert any(issubclass(w.category, DeprecationWarning) for w in seen), (
            "redis-py no longer wraps get_connection: redis_pool.py can go"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            conn = await client.connection_pool.get_connection("GET")  # type: ignore[no-untyped-call]
            await client.connection_pool.release(conn)
        assert await client.ping()
    finally:
        await stock.aclose()
        await client.aclose()


async def test_raw_commands_keep_the_connection_in_step(settings: Settings) -> None:
    """Replies in order; an error reply raises and the next batch still reads its
    own replies; a connection killed server-side is replaced (one resend); a
    server that lost its scripts gets SCRIPT LOAD."""
    client = join_path_client(settings.redis_url)
    raw = RawCommands(client)
    key = f"{settings.redis_prefix}raw"
    try:
        replies = await raw.run([("SET", key, "a"), ("GET", key), ("INCR", key + "n")])
        assert replies == [b"OK", b"a", 1]
        with pytest.raises(ResponseError):
            await raw.run([("INCR", key), ("GET", key)])  # INCR of "a": an error reply
        assert await raw.run([("GET", key), ("INCR", key + "n")]) == [b"a", 2]
        # Kill every connection of the pool from the server side: the batch is
        # resent on a new connection.
        admin = aioredis.Redis.from_url(settings.redis_url)
        try:
            await admin.client_kill_filter(_type="normal", skipme=True)
            assert await raw.run([("INCR", key + "n")]) == [3]
            script = admin.register_script("return {KEYS[1], ARGV[1]}")
            await admin.script_flush()
            assert await raw.script(script, [key], ["x"]) == [key.encode(), b"x"]
            assert await raw.script(script, [key], ["y"]) == [key.encode(), b"y"]
        finally:
            await admin.aclose()
    finally:
        await client.aclose()


async def test_raw_commands_wait_for_a_connection_instead_of_failing(settings: Settings) -> None:
    """More batches at once than the pool has connections: they queue (the
    stock pool raises MaxConnectionsError), and every one gets its reply."""
    client = join_path_client(settings.redis_url, max_connections=20)
    key = f"{settings.redis_prefix}empty"
    try:
        raws = [RawCommands(client), RawCommands(client)]  # share the pool's slots
        replies = await asyncio.gather(*(raws[i % 2].run([("BLPOP", key, 0.1)]) for i in range(60)))
        assert replies == [[None]] * 60
        in_use = client.connection_pool._in_use_connections
        assert len(in_use) == 0
    finally:
        await client.aclose()
