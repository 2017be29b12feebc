"""HTTP behaviour against real Redis and FerretDB."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import msgspec
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from plaza_control.app import create_app
from plaza_control.keyspace import Keyspace
from plaza_control.models import Role, WorldSettings
from plaza_control.repositories.redis import RedisConfigCache
from plaza_control.settings import Settings

from .conftest import MONGO_URL, cleanup, make_settings
from .helpers import free_port, make_api_key, relay, session_token, user_id, write_heartbeat


async def _world(
    client: Any, key: str, world_id: str = "lobby", capacity: int = 2
) -> dict[str, Any]:
    resp = await client.post(
        "/v1/ops/worlds",
        json={"id": world_id, "name": "Lobby", "settings": {"room_capacity": capacity}},
        headers={"X-API-Key": key},
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_sign_in_join_and_verify_ticket_with_served_jwks(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    await _world(client, admin)
    await write_heartbeat(redis_client, keyspace, relay("relay-a"))
    resp = await client.post(
        "/v1/auth/guest", json={"device_id": "device-0123456789abcdef", "display_name": "Zoë"}
    )
    assert resp.status_code == 200, resp.text
    signed = resp.json()
    resp = await client.post(
        "/v1/join",
        json={"world_id": "lobby", "region": "eu-west"},
        headers={"Authorization": f"Bearer {signed['session_token']}"},
    )
    assert resp.status_code == 200, resp.text
    joined = resp.json()
    assert joined["relay_id"] == "relay-a"
    assert joined["relay_url"] == relay("relay-a").public_url
    assert joined["settings"]["room_capacity"] == 2
    jwks = (await client.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(joined["ticket"])["kid"]
    [jwk] = [k for k in jwks["keys"] if k["kid"] == kid]
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    claims = jwt.decode(
        joined["ticket"],
        jwt.PyJWK.from_dict(jwk),
        algorithms=["EdDSA"],
        audience="relay-a",
        issuer="plaza-control",
    )
    assert claims["sub"] == signed["user_id"]
    assert claims["name"] == "Zoë"
    assert claims["room"] == joined["room_id"]
    assert claims["wcv"] == 1
    # The seat is visible to operators.
    rooms = (await client.get("/v1/ops/rooms", headers={"X-API-Key": admin})).json()["items"]
    assert [(r["room_id"], r["seats"]) for r in rooms] == [(joined["room_id"], 1)]
    relays = (await client.get("/v1/ops/relays", headers={"X-API-Key": admin})).json()["items"]
    assert relays[0]["seats"] == 1
    detail = (
        await client.get(f"/v1/ops/users/{signed['user_id']}", headers={"X-API-Key": admin})
    ).json()
    assert detail["room_id"] == joined["room_id"]


async def test_refresh_rotation_over_http(client: Any) -> None:
    resp = await client.post(
        "/v1/auth/guest", json={"device_id": "device-0123456789abcdef", "display_name": "Ann"}
    )
    first = resp.json()
    resp = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert resp.status_code == 200
    second = resp.json()
    assert second["user_id"] == first["user_id"]
    replay = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.headers["content-type"].startswith("application/problem+json")
    after = await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401


async def test_problem_details(
    client: Any, settings: Settings, redis_client: aioredis.Redis
) -> None:
    token = session_token(settings, user_id(1))
    auth = {"Authorization": f"Bearer {token}"}
    resp = await client.post("/v1/join", json={"world_id": "lobby", "extra": 1}, headers=auth)
    assert resp.status_code == 400
    body = resp.json()
    assert body["type"] == "urn:plaza:problem:invalid-input"
    assert "unknown field" in str(body["errors"])
    assert body["request_id"] == resp.headers["x-request-id"]
    resp = await client.post("/v1/join", json={"world_id": "Not Valid!"}, headers=auth)
    assert resp.status_code == 400
    resp = await client.post("/v1/join", json={"world_id": "lobby"})
    assert resp.status_code == 401
    resp = await client.post(
        "/v1/join", json={"world_id": "lobby"}, headers={"Authorization": "Bearer x.y.z"}
    )
    assert resp.status_code == 401
    resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)
    assert resp.status_code == 404
    assert resp.json()["type"] == "urn:plaza:problem:not-found"
    # A world with no live relay: 503 + Retry-After.
    await RedisConfigCache(redis_client, Keyspace(settings.redis_prefix)).put_world(
        "lobby", 1, WorldSettings()
    )
    resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)
    assert resp.status_code == 503
    assert int(resp.headers["retry-after"]) >= 1
    assert resp.json()["type"] == "urn:plaza:problem:no-relay"
    resp = await client.get("/nope", headers={"X-Request-ID": "abc-123"})
    assert resp.status_code == 404
    assert resp.json()["status"] == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_routing_errors_carry_a_request_id_and_are_counted(client: Any) -> None:
    """404 (no route) and 405 (no such method) are raised by Litestar's router,
    before any route middleware: they still echo the request id and count."""
    resp = await client.get("/nope", headers={"X-Request-ID": "abc-123"})
    assert resp.status_code == 404
    assert resp.headers["x-request-id"] == "abc-123"
    assert resp.json()["request_id"] == "abc-123"
    resp = await client.delete("/healthz")
    assert resp.status_code == 405
    assert resp.json()["request_id"] == resp.headers["x-request-id"]
    exposition = (await client.get("/metrics")).text
    for line in (
        'plaza_control_http_requests_total{method="GET",route="unmatched",status="404"} 1.0',
        'plaza_control_http_requests_total{method="DELETE",route="unmatched",status="405"} 1.0',
    ):
        assert line in exposition, line


async def test_room_full_and_specific_room(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    await _world(client, admin, capacity=1)
    await write_heartbeat(redis_client, keyspace, relay("relay-a"))
    one = {"Authorization": f"Bearer {session_token(settings, user_id(1))}"}
    two = {"Authorization": f"Bearer {session_token(settings, user_id(2))}"}
    resp = await client.post(
        "/v1/join", json={"world_id": "lobby", "room_id": "party-1"}, headers=one
    )
    assert resp.status_code == 200
    assert resp.json()["room_id"] == "party-1"
    resp = await client.post(
        "/v1/join", json={"world_id": "lobby", "room_id": "party-1"}, headers=two
    )
    assert resp.status_code == 409
    assert resp.headers["retry-after"]
    assert resp.json()["type"] == "urn:plaza:problem:room-full"


async def test_ban_blocks_join_and_sign_in_and_kicks(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    mod = await make_api_key(settings, Role.MODERATOR)
    await _world(client, admin)
    await write_heartbeat(redis_client, keyspace, relay("relay-a"))
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(keyspace.cmd_relay("relay-a"))
    signed = (
        await client.post(
            "/v1/auth/guest", json={"device_id": "device-0123456789abcdef", "display_name": "Ann"}
        )
    ).json()
    auth = {"Authorization": f"Bearer {signed['session_token']}"}
    assert (
        await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)
    ).status_code == 200
    resp = await client.post(
        f"/v1/ops/users/{signed['user_id']}/ban",
        json={"reason": "cheating"},
        headers={"X-API-Key": mod},
    )
    assert resp.status_code == 200, resp.text
    command_id = resp.json()["command_id"]
    msg = None
    for _ in range(50):
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if msg:
            break
    assert msg is not None
    from plaza_control import codec

    cmd: Any = codec.decode_command(msg["data"])
    assert cmd.commandId == command_id.encode()
    assert cmd.body.userId == signed["user_id"].encode()
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    status = (await client.get(f"/v1/ops/commands/{command_id}", headers={"X-API-Key": mod})).json()
    assert status["ack"] == "pending"
    resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)
    assert resp.status_code == 403
    assert resp.json()["type"] == "urn:plaza:problem:banned"
    resp = await client.post(
        "/v1/auth/guest", json={"device_id": "device-0123456789abcdef", "display_name": "Ann"}
    )
    assert resp.status_code == 403
    resp = await client.delete(f"/v1/ops/users/{signed['user_id']}/ban", headers={"X-API-Key": mod})
    assert resp.status_code == 204
    assert (
        await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)
    ).status_code == 200


async def test_world_versions_and_cache(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    await _world(client, admin)
    h = {"X-API-Key": admin}
    resp = await client.put(
        "/v1/ops/worlds/lobby", json={"settings": {"room_capacity": 7}}, headers=h
    )
    assert resp.json()["version"] == 2
    resp = await client.put(
        "/v1/ops/worlds/lobby", json={"name": "x", "expected_version": 1}, headers=h
    )
    assert resp.status_code == 409
    from plaza_control import codec

    raw = await redis_client.get(keyspace.world_config("lobby"))
    assert isinstance(raw, bytes)
    cached = codec.decode_world_config(raw)
    assert (cached.version, cached.settings.room_capacity) == (2, 7)
    resp = await client.post(
        "/v1/ops/worlds",
        json={"id": "bad", "name": "x", "settings": {"room_capacity": 0}},
        headers=h,
    )
    assert resp.status_code == 400
    assert (await client.delete("/v1/ops/worlds/lobby", headers=h)).status_code == 204
    assert await redis_client.get(keyspace.world_config("lobby")) is None


async def test_audit_pages(client: Any, settings: Settings) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    h = {"X-API-Key": admin}
    for i in range(5):
        await client.post(
            "/v1/ops/announce", json={"scope": "everyone", "text": f"hi {i}"}, headers=h
        )
    seen: list[str] = []
    before = None
    while True:
        params = {"limit": 2} | ({"cursor": before} if before else {})
        page = (await client.get("/v1/ops/audit", params=params, headers=h)).json()
        seen += [e["id"] for e in page["items"]]
        before = page["next"]
        if before is None:
            break
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)


async def test_health_metrics_openapi(client: Any) -> None:
    health = (await client.get("/healthz")).json()
    assert health == {"status": "ok", "checks": {"mongodb": "ok"}}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "ok"}
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/v1/join" in schema["paths"]
    assert "/v1/ops/relays/{relay_id}/drain" in schema["paths"]
    metrics = (await client.get("/metrics")).text
    assert "plaza_control_http_requests_total" in metrics
    assert 'route="/readyz"' in metrics


async def test_join_path_never_needs_mongodb(tmp_path: Path) -> None:
    """MongoDB unreachable: joins (Redis only) keep working, so readiness holds;
    health says degraded and the gauge says MongoDB is down."""
    settings = make_settings(
        tmp_path, mongo_url=f"mongodb://127.0.0.1:{free_port()}/", mongo_timeout_ms=300
    )
    r = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    try:
        await RedisConfigCache(r, keyspace).put_world("lobby", 3, WorldSettings(room_capacity=5))
        await write_heartbeat(r, keyspace, relay("relay-a"))
        async with AsyncTestClient(
            create_app(settings, background=False), base_url="http://127.0.0.1"
        ) as c:
            started = time.monotonic()
            ready = await c.get("/readyz")
            assert ready.status_code == 200, ready.text
            health = await c.get("/healthz")
            assert time.monotonic() - started < 2.5, "probes answer within their bounds"
            assert health.status_code == 200
            assert health.json()["status"] == "degraded"
            assert health.json()["checks"]["mongodb"].startswith("fail")
            assert "plaza_control_mongodb_up 0.0" in (await c.get("/metrics")).text
            resp = await c.post(
                "/v1/join",
                json={"world_id": "lobby"},
                headers={"Authorization": f"Bearer {session_token(settings, user_id(1))}"},
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["world_version"] == 3
            resp = await c.get("/v1/ops/relays", headers={"X-API-Key": "pk_000000000000_x"})
            assert resp.status_code == 503
    finally:
        await r.aclose()
        await cleanup(msgspec.structs.replace(settings, mongo_url=MONGO_URL))


async def test_rate_limit_answers_429(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, signin_per_ip=3)
    try:
        async with AsyncTestClient(
            create_app(settings, background=False), base_url="http://127.0.0.1"
        ) as c:
            codes = []
            for i in range(5):
                resp = await c.post(
                    "/v1/auth/guest",
                    json={"device_id": f"device-{i}123456789abcdef", "display_name": "Ann"},
                )
                codes.append(resp.status_code)
            assert codes == [200, 200, 200, 429, 429]
            assert int(resp.headers["retry-after"]) >= 1
    finally:
        await cleanup(settings)


async def test_readiness_fails_when_redis_does_not_answer(client: Any) -> None:
    svc = client.app.state.services
    live = svc.redis
    svc.redis = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2
    )
    try:
        ready = await client.get("/readyz")
    finally:
        await svc.redis.aclose()
        svc.redis = live
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("fail")
    assert "plaza_control_redis_up 0.0" in (await client.get("/metrics")).text
    assert (await client.get("/readyz")).status_code == 200
