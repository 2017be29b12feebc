"""Operator API keys over ``/v1/ops/keys``: create (shown once), list, revoke;
hashed at rest (read from MongoDB directly); a revocation holds on every
control-plane process at once; ``last_used`` is written at most once a minute."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from plaza_control.app import create_app
from plaza_control.models import ApiKey, Role
from plaza_control.services.operators import ApiKeyService
from plaza_control.settings import Settings

from .helpers import make_api_key
from .memory import MemoryApiKeyRepository
from .openapi_check import observe


@pytest.fixture
async def two_apps(
    settings: Settings,
) -> AsyncIterator[tuple[AsyncTestClient, AsyncTestClient]]:  # type: ignore[type-arg]
    """Two app instances (two control-plane replicas) on one Redis and MongoDB."""
    a = create_app(settings, background=False)
    b = create_app(settings, background=False)
    async with (
        AsyncTestClient(a, base_url="http://127.0.0.1") as ca,
        AsyncTestClient(b, base_url="http://127.0.0.1") as cb,
    ):
        observe(ca)
        observe(cb)
        yield ca, cb


async def _raw_docs(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    m: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        db = m[settings.mongo_db]
        return {
            name: [d async for d in db[name].find({})] for name in await db.list_collection_names()
        }
    finally:
        await m.close()


async def test_create_list_revoke_across_replicas(
    settings: Settings,
    two_apps: tuple[AsyncTestClient, AsyncTestClient],  # type: ignore[type-arg]
) -> None:
    a, b = two_apps
    admin = {"X-API-Key": await make_api_key(settings, Role.ADMIN, "root")}
    resp = await a.post("/v1/ops/keys", json={"name": "bot", "role": "viewer"}, headers=admin)
    assert resp.status_code == 201, resp.text
    made = resp.json()
    secret = made["key"]
    assert secret.startswith(f"pk_{made['id']}_")
    assert (made["role"], made["revoked"], made["last_used_at_ms"]) == ("viewer", False, 0)
    viewer = {"X-API-Key": secret}
    for c in (a, b):
        assert (await c.get("/v1/ops/relays", headers=viewer)).status_code == 200

    listed = (await b.get("/v1/ops/keys", headers=admin)).json()
    assert listed["next"] is None
    by_id = {k["id"]: k for k in listed["items"]}
    assert by_id[made["id"]]["name"] == "bot"
    assert by_id[made["id"]]["last_used_at_ms"] > 0, "last use is recorded"
    assert "key" not in by_id[made["id"]]
    assert secret not in (await b.get("/v1/ops/keys", headers=admin)).text

    # Revoked on replica A: replica B refuses the key on its very next request.
    assert (await a.delete(f"/v1/ops/keys/{made['id']}", headers=admin)).status_code == 204
    for c in (b, a):
        resp = await c.get("/v1/ops/relays", headers=viewer)
        assert resp.status_code == 401, resp.text
    assert (await a.delete(f"/v1/ops/keys/{made['id']}", headers=admin)).status_code == 204
    missing = await a.delete("/v1/ops/keys/000000000000", headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    listed = (await a.get("/v1/ops/keys", headers=admin)).json()
    assert {k["id"]: k["revoked"] for k in listed["items"]}[made["id"]] is True

    audit = (await a.get("/v1/ops/audit", headers=admin)).json()["items"]
    actions = {(e["action"], e["result"], e["status"], e["actor_name"]) for e in audit}
    assert ("key.create", "ok", 201, "root") in actions
    assert ("key.revoke", "ok", 204, "root") in actions
    assert ("key.revoke", "error", 404, "root") in actions
    assert secret not in repr(audit)

    # At rest: only sha256 of the key; the key and its secret are nowhere.
    docs = await _raw_docs(settings)
    stored = next(d for d in docs["api_keys"] if d["_id"] == made["id"])
    assert stored["hash"] == hashlib.sha256(secret.encode()).hexdigest()
    dump = repr(docs)
    assert secret not in dump
    assert secret.split("_", 2)[2] not in dump


async def test_bad_bodies_are_refused(
    settings: Settings,
    two_apps: tuple[AsyncTestClient, AsyncTestClient],  # type: ignore[type-arg]
) -> None:
    a, _ = two_apps
    admin = {"X-API-Key": await make_api_key(settings, Role.ADMIN)}
    for body in ({"name": "", "role": "viewer"}, {"name": "x", "role": "root"}, {"name": "x"}):
        resp = await a.post("/v1/ops/keys", json=body, headers=admin)
        assert resp.status_code == 400, body
    assert (await a.delete("/v1/ops/keys/not-an-id", headers=admin)).status_code == 400


async def test_last_used_is_written_at_most_once_per_interval() -> None:
    now = [1_000_000]
    repo = MemoryApiKeyRepository()
    writes: list[int] = []
    touch = repo.touch

    async def counting_touch(key_id: str, now_ms: int) -> None:
        writes.append(now_ms)
        await touch(key_id, now_ms)

    repo.touch = counting_touch  # type: ignore[method-assign]
    svc = ApiKeyService(repo, lambda: now[0])
    key, _ = await svc.create(Role.VIEWER, "k")
    for _ in range(50):
        await svc.authenticate(key)
    assert writes == [1_000_000]
    now[0] += ApiKeyService.TOUCH_INTERVAL_MS - 1
    await svc.authenticate(key)
    assert len(writes) == 1
    now[0] += 1
    await svc.authenticate(key)
    assert writes == [1_000_000, 1_000_000 + ApiKeyService.TOUCH_INTERVAL_MS]
    record = await repo.get(key.split("_")[1])
    assert isinstance(record, ApiKey)
    assert record.last_used_at_ms == writes[-1]
    # Another process (a new service on the same store) reads the stored time.
    other = ApiKeyService(repo, lambda: now[0] + 10)
    await other.authenticate(key)
    assert len(writes) == 2


async def test_key_list_pages_oldest_first(
    settings: Settings,
    two_apps: tuple[AsyncTestClient, AsyncTestClient],  # type: ignore[type-arg]
) -> None:
    a, _ = two_apps
    admin = {"X-API-Key": await make_api_key(settings, Role.ADMIN, "k0")}
    for i in range(1, 4):
        body = {"name": f"k{i}", "role": "viewer"}
        assert (await a.post("/v1/ops/keys", json=body, headers=admin)).status_code == 201
    names: list[str] = []
    cursor = ""
    while True:
        page = (await a.get(f"/v1/ops/keys?limit=2{cursor}", headers=admin)).json()
        names += [k["name"] for k in page["items"]]
        if page["next"] is None:
            break
        cursor = f"&cursor={page['next']}"
    assert sorted(names) == ["k0", "k1", "k2", "k3"]
    listed = (await a.get("/v1/ops/keys", headers=admin)).json()["items"]
    assert [k["name"] for k in listed] == names
    created = [k["created_at_ms"] for k in listed]
    assert created == sorted(created), "oldest first"
