"""Every answer with ``Retry-After`` carries ``retry_after_ms`` in its problem body
(the header = ceil(ms / 1000) seconds), and the join admission schedule hands a
refused crowd distinct, increasing slots: real app, real Redis and FerretDB."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from plaza_control.app import create_app
from plaza_control.errors import spread_ms
from plaza_control.keyspace import Keyspace
from plaza_control.models import Role
from plaza_control.settings import Settings

from .conftest import REDIS_URL, cleanup, make_settings
from .helpers import free_port, make_api_key, relay, session_token, user_id, write_heartbeat
from .openapi_check import observe


def _assert_retry(resp: Any) -> int:
    """The answer's retry_after_ms (checked against its header)."""
    body = resp.json()
    ms = body["retry_after_ms"]
    assert isinstance(ms, int)
    assert ms >= 1
    assert int(resp.headers["retry-after"]) == max(1, math.ceil(ms / 1000))
    return ms


@pytest.fixture
async def paced(tmp_path: Path) -> AsyncIterator[tuple[Any, Settings]]:
    """An app admitting 2 joins/s, burst 1, horizon 1.2 s, one relay, world lobby."""
    settings = make_settings(
        tmp_path, join_rate_per_second=2, join_burst=1, join_schedule_horizon_ms=1200
    )
    app = create_app(settings, background=False)
    r = aioredis.Redis.from_url(settings.redis_url)
    try:
        async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
            observe(c)
            admin = await make_api_key(settings, Role.ADMIN)
            resp = await c.post(
                "/v1/ops/worlds",
                json={"id": "lobby", "name": "Lobby"},
                headers={"X-API-Key": admin},
            )
            assert resp.status_code == 201, resp.text
            await write_heartbeat(r, Keyspace(settings.redis_prefix), relay("relay-a"))
            yield c, settings
    finally:
        await r.aclose()
        await cleanup(settings)


async def test_a_paced_crowd_gets_distinct_slots_then_the_horizon(
    paced: tuple[Any, Settings],
) -> None:
    client, settings = paced
    auth = [{"Authorization": f"Bearer {session_token(settings, user_id(n))}"} for n in range(1, 6)]
    first = await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth[0])
    assert first.status_code == 200, first.text
    waits = []
    for headers in auth[1:3]:
        resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=headers)
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body["type"] == "urn:plaza:problem:overloaded"
        assert body["reason"] == "rate"
        waits.append(_assert_retry(resp))
    # Slots 500 ms apart at 2/s: the second ~500 ms after the first (minus the
    # time the requests took), the header rounds up to whole seconds.
    assert 0 < waits[0] <= 500
    assert 400 < waits[1] - waits[0] <= 500
    # The next slot would lie beyond 1.2 s: refused at the horizon, nothing booked.
    resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth[3])
    assert resp.status_code == 503
    assert resp.json()["reason"] == "horizon"
    assert _assert_retry(resp) == 1200
    assert resp.headers["retry-after"] == "2"
    metrics = (await client.get("/metrics")).text
    assert 'plaza_control_join_refused_total{reason="rate"} 2.0' in metrics
    assert 'plaza_control_join_refused_total{reason="horizon"} 1.0' in metrics
    assert 'plaza_control_join_refused_total{reason="in_flight"} 0.0' in metrics
    assert "plaza_control_join_schedule_pending 2.0" in metrics
    backlog = next(
        float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("plaza_control_join_schedule_backlog_seconds ")
    )
    assert 0.5 < backlog <= 1.0


async def test_room_full_rate_limited_and_no_relay_carry_retry_after_ms(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, join_per_user=2, join_rate_per_second=0)
    app = create_app(settings, background=False)
    r = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    try:
        async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
            observe(client)
            admin = await make_api_key(settings, Role.ADMIN)
            resp = await client.post(
                "/v1/ops/worlds",
                json={"id": "lobby", "name": "Lobby", "settings": {"room_capacity": 1}},
                headers={"X-API-Key": admin},
            )
            assert resp.status_code == 201, resp.text
            one = {"Authorization": f"Bearer {session_token(settings, user_id(1))}"}
            two = {"Authorization": f"Bearer {session_token(settings, user_id(2))}"}
            # No live relay: 503 no-relay.
            resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=one)
            assert resp.status_code == 503
            assert resp.json()["type"] == "urn:plaza:problem:no-relay"
            assert _assert_retry(resp) >= 1000
            await write_heartbeat(r, keyspace, relay("relay-a"))
            room = {"world_id": "lobby", "room_id": "party-1"}
            assert (await client.post("/v1/join", json=room, headers=one)).status_code == 200
            # The room holds one: 409 room-full.
            resp = await client.post("/v1/join", json=room, headers=two)
            assert resp.status_code == 409
            assert resp.json()["type"] == "urn:plaza:problem:room-full"
            assert _assert_retry(resp) >= 1000
            # User 2 past join_per_user (2) joins in the window: 429.
            for _ in range(3):
                resp = await client.post("/v1/join", json=room, headers=two)
                if resp.status_code != 409:
                    break
            assert resp.status_code == 429, resp.text
            assert resp.json()["type"] == "urn:plaza:problem:rate-limited"
            assert _assert_retry(resp) >= 1000
            # Answers without Retry-After carry no retry_after_ms.
            three = {"Authorization": f"Bearer {session_token(settings, user_id(3))}"}
            resp = await client.post("/v1/join", json={"world_id": "nope"}, headers=three)
            assert resp.status_code == 404
            assert "retry-after" not in resp.headers
            assert "retry_after_ms" not in resp.json()
    finally:
        await r.aclose()
        await cleanup(settings)


async def test_redis_down_answers_dependency_down_with_retry_after_ms(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(settings, background=False)
    try:
        async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
            auth = {"Authorization": f"Bearer {session_token(settings, user_id(1))}"}
            resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)
            assert resp.status_code == 503, resp.text
            assert resp.json()["type"] == "urn:plaza:problem:dependency-down"
            # 2 s plus up to as much again, so clients refused at once spread out.
            assert 2000 <= _assert_retry(resp) <= 4000
    finally:
        # Nothing reached Redis; the MongoDB database may have been created.
        await cleanup(msgspec.structs.replace(settings, redis_url=REDIS_URL))


def test_the_problem_schema_documents_retry_after_ms_and_reason() -> None:
    from .openapi_check import app_schema

    props = app_schema()["components"]["schemas"]["Problem"]["properties"]
    assert props["retry_after_ms"]["minimum"] == 1
    assert "ceil(retry_after_ms / 1000)" in props["retry_after_ms"]["description"]
    assert "horizon" in props["reason"]["description"]


def test_flat_hints_are_spread() -> None:
    """The hints that are not schedule slots (dependency down, no relay, room
    full) are base + uniform(0, base): a refused crowd comes back spread over a
    window, not in one wave (the rule adds only 250 ms of jitter to a hint)."""
    draws = [spread_ms(2000) for _ in range(2000)]
    assert min(draws) >= 2000
    assert max(draws) <= 4000
    # Every 250 ms band of the window is used (2000 draws, 8 bands).
    assert {d // 250 for d in draws} >= set(range(8, 16))
