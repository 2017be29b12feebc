"""Fixtures: every test gets its own Redis key prefix and MongoDB database on the
real services started by scripts/services.sh, and removes them afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient
from pymongo import AsyncMongoClient

from plaza_control import signing_keys
from plaza_control.app import create_app
from plaza_control.keyspace import Keyspace
from plaza_control.settings import Settings

from .openapi_check import observe

REDIS_URL = os.environ.get("PLAZA_REDIS_URL", "redis://127.0.0.1:16379/0")
MONGO_URL = os.environ.get("PLAZA_MONGO_URL", "mongodb://127.0.0.1:27217/")


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    tag = secrets.token_hex(4)
    key_dir = tmp_path / "keys"
    if not signing_keys.load_dir(key_dir):
        signing_keys.generate_key_file(key_dir)
    base: dict[str, object] = {
        "redis_url": REDIS_URL,
        "mongo_url": MONGO_URL,
        "redis_prefix": f"t{tag}:",
        "mongo_db": f"t_{tag}",
        "key_dir": str(key_dir),
        "session_secret": "s" * 40,
        "key_activation_seconds": 0,
        "access_log": False,
        "log_level": "warning",
        "signin_per_ip": 10_000,
        "join_per_ip": 100_000,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


async def cleanup(settings: Settings) -> None:
    r = aioredis.Redis.from_url(settings.redis_url)
    try:
        batch = [k async for k in r.scan_iter(f"{settings.redis_prefix}*", count=1000)]
        if batch:
            await r.delete(*batch)
    finally:
        await r.aclose()
    m: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
    try:
        await m.drop_database(settings.mongo_db)
    finally:
        await m.close()


@pytest.fixture
async def settings(tmp_path: Path) -> AsyncIterator[Settings]:
    s = make_settings(tmp_path)
    yield s
    await cleanup(s)


@pytest.fixture
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    r = aioredis.Redis.from_url(settings.redis_url)
    yield r
    await r.aclose()


@pytest.fixture
def keyspace(settings: Settings) -> Keyspace:
    return Keyspace(settings.redis_prefix)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = create_app(settings, background=False)
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        observe(c)  # every answer a test sees must be declared in the schema
        yield c
