"""Sign-in of returning players from the Redis user cache, on real Redis and
FerretDB: which MongoDB commands a sign-in still sends is watched with PyMongo's
command monitoring (the driver's own events, not a fake)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import PyMongoError

from plaza_control.errors import Banned
from plaza_control.keyspace import Keyspace
from plaza_control.models import Ban, User
from plaza_control.repositories import mongo
from plaza_control.repositories.redis import RedisBanReader, RedisConfigCache, RedisRateLimiter
from plaza_control.repositories.user_cache import (
    USER_CACHE_TTL_SECONDS,
    CachedUserRepository,
    RedisUserCache,
    identity_hash,
)
from plaza_control.services.players import PlayerService, SignInLimits, sha256_hex
from plaza_control.settings import Settings
from plaza_control.tokens import SessionTokens

from .helpers import user_id

DEVICE = "device-returning-0123456789"


class Commands(monitoring.CommandListener):
    """Every command the client sent, as (command name, collection)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self.seen.append((event.command_name, target if isinstance(target, str) else ""))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def data(self) -> list[tuple[str, str]]:
        """The data commands (not handshakes or heartbeats)."""
        return [c for c in self.seen if c[0] in ("find", "insert", "update", "delete", "aggregate")]


@dataclass
class Stack:
    redis: aioredis.Redis
    keyspace: Keyspace
    mongo_client: AsyncMongoClient[dict[str, Any]]
    commands: Commands
    store: mongo.MongoUserRepository
    cache: RedisUserCache
    users: CachedUserRepository
    config: RedisConfigCache
    players: PlayerService
    extra: list[AsyncMongoClient[dict[str, Any]]] = field(default_factory=list)


def players(
    settings: Settings,
    r: aioredis.Redis,
    ks: Keyspace,
    users: CachedUserRepository,
    db: mongo.Db,
    config: RedisConfigCache,
) -> PlayerService:
    return PlayerService(
        users=users,
        bans=RedisBanReader(config),
        refresh_tokens=mongo.MongoRefreshTokenRepository(db),
        sessions=SessionTokens(b"k" * 40, "plaza-control", 900),
        identity=None,
        limiter=RedisRateLimiter(r, ks),
        limits=SignInLimits(60_000, 10_000, 10_000),
        refresh_ttl_ms=86_400_000,
        clock=lambda: 1_800_000_000_000,
    )


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    r = aioredis.Redis.from_url(settings.redis_url)
    ks = Keyspace(settings.redis_prefix)
    cmds = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo_url, event_listeners=[cmds]
    )
    db = client[settings.mongo_db]
    await mongo.ensure_indexes(db)
    store = mongo.MongoUserRepository(db)
    cache = RedisUserCache(r, ks)
    users = CachedUserRepository(store, cache)
    config = RedisConfigCache(r, ks)
    s = Stack(
        r,
        ks,
        client,
        cmds,
        store,
        cache,
        users,
        config,
        players(settings, r, ks, users, db, config),
    )
    yield s
    for c in (client, *s.extra):
        await c.close()
    await r.aclose()


async def test_returning_guest_reads_no_user_or_ban_from_mongodb(stack: Stack) -> None:
    first = await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    assert first.created
    stack.commands.seen.clear()
    again = await stack.players.guest(DEVICE, "Someone Else", "10.0.0.1")
    assert not again.created
    assert (again.user_id, again.display_name) == (first.user_id, "Ann")
    # Only the refresh token is written; users and bans are not read.
    assert stack.commands.data() == [("insert", "refresh_tokens")]


async def test_first_sign_in_fills_the_cache_with_a_ttl(stack: Stack) -> None:
    first = await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    key = stack.keyspace.user_by_device(sha256_hex(DEVICE))
    cached = await cached_user(stack.redis, key)
    assert cached == await stack.store.get(first.user_id)
    ttl = await stack.redis.ttl(key)
    assert USER_CACHE_TTL_SECONDS - 5 <= ttl <= USER_CACHE_TTL_SECONDS


async def test_a_read_renews_the_ttl(stack: Stack) -> None:
    await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    key = stack.keyspace.user_by_device(sha256_hex(DEVICE))
    await stack.redis.expire(key, 100)
    await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    assert await stack.redis.ttl(key) > USER_CACHE_TTL_SECONDS - 5


async def test_a_lost_entry_is_refilled_from_mongodb(stack: Stack) -> None:
    first = await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    key = stack.keyspace.user_by_device(sha256_hex(DEVICE))
    await stack.redis.delete(key)
    stack.commands.seen.clear()
    again = await stack.players.guest(DEVICE, "Bob", "10.0.0.1")
    assert (again.user_id, again.display_name, again.created) == (first.user_id, "Ann", False)
    # The insert meets the unique index; the duplicate is looked up, then cached.
    assert ("insert", "users") in stack.commands.data()
    assert await stack.redis.exists(key) == 1
    stack.commands.seen.clear()
    await stack.players.guest(DEVICE, "Bob", "10.0.0.1")
    assert stack.commands.data() == [("insert", "refresh_tokens")]


async def test_an_unreadable_or_foreign_entry_is_a_miss(stack: Stack) -> None:
    first = await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    key = stack.keyspace.user_by_device(sha256_hex(DEVICE))
    await stack.redis.set(key, b"not json")
    assert await stack.cache.by_device(sha256_hex(DEVICE)) is None
    assert (await stack.players.guest(DEVICE, "Xy", "10.0.0.1")).user_id == first.user_id
    other = User(
        id=user_id(9), display_name="Mallory", kind="guest", created_at_ms=1, device_hash="f" * 64
    )
    await stack.redis.set(key, msgspec.json.encode(other))
    assert await stack.cache.by_device(sha256_hex(DEVICE)) is None
    assert (await stack.players.guest(DEVICE, "Xy", "10.0.0.1")).user_id == first.user_id


async def test_external_identity_is_cached_by_its_hash(stack: Stack) -> None:
    key = "https://idp.example/realms/a b|player:42"
    user = User(
        id=user_id(3), display_name="Ada", kind="external", created_at_ms=1, external_key=key
    )
    assert await stack.users.create(user) == user
    cache_key = stack.keyspace.user_by_identity(identity_hash(key))
    assert await cached_user(stack.redis, cache_key) == user
    stack.commands.seen.clear()
    assert await stack.users.by_external(key) == user
    assert await stack.users.create(msgspec.structs.replace(user, id=user_id(4))) == user
    assert stack.commands.data() == []
    # A miss reads MongoDB once and fills the cache.
    await stack.redis.delete(cache_key)
    assert await stack.users.by_external(key) == user
    assert stack.commands.data() == [("find", "users")]
    assert await stack.redis.exists(cache_key) == 1
    assert await stack.users.by_external(key + "x") is None


async def test_bans_come_from_the_ban_cache(stack: Stack) -> None:
    first = await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    await stack.config.put_ban(
        Ban(user_id=first.user_id, reason="spam", until_ms=0, by="op", at_ms=1)
    )
    stack.commands.seen.clear()
    with pytest.raises(Banned):
        await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    assert stack.commands.data() == []
    await stack.config.drop_ban(first.user_id)
    assert not (await stack.players.guest(DEVICE, "Ann", "10.0.0.1")).created


async def cached_user(r: aioredis.Redis, key: str) -> User:
    raw = await r.get(key)
    assert isinstance(raw, bytes), f"{key} is not cached"
    return msgspec.json.decode(raw, type=User)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_with_mongodb_down_a_returning_device_is_known_but_sign_in_fails(
    stack: Stack, settings: Settings
) -> None:
    """What the cache buys and what still needs MongoDB: with MongoDB out of
    reach the returning device's user and ban are found (Redis), but the sign-in
    still fails, at the refresh-token insert (refresh tokens live in MongoDB)."""
    first = await stack.players.guest(DEVICE, "Ann", "10.0.0.1")
    down: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{closed_port()}/", serverSelectionTimeoutMS=300
    )
    stack.extra.append(down)
    db = down[settings.mongo_db]
    users = CachedUserRepository(mongo.MongoUserRepository(db), stack.cache)
    candidate = User(
        id=user_id(5),
        display_name="Z",
        kind="guest",
        created_at_ms=1,
        device_hash=sha256_hex(DEVICE),
    )
    known = await users.create(candidate)
    assert known.id == first.user_id
    service = players(settings, stack.redis, stack.keyspace, users, db, stack.config)
    with pytest.raises(PyMongoError):
        await service.guest(DEVICE, "Ann", "10.0.0.1")
    # A device never seen needs MongoDB for its user too.
    with pytest.raises(PyMongoError):
        await users.create(msgspec.structs.replace(candidate, device_hash="0" * 64))


async def test_the_app_signs_returning_guests_in_from_the_cache(
    client: Any, settings: Settings, redis_client: aioredis.Redis
) -> None:
    body = {"device_id": DEVICE, "display_name": "Ann"}
    first = await client.post("/v1/auth/guest", json=body)
    assert first.status_code == 200, first.text
    key = Keyspace(settings.redis_prefix).user_by_device(sha256_hex(DEVICE))
    cached = await cached_user(redis_client, key)
    assert cached.id == first.json()["user_id"]
    again = await client.post("/v1/auth/guest", json={**body, "display_name": "Bob"})
    assert again.json()["user_id"] == first.json()["user_id"]
    assert again.json()["display_name"] == "Ann"
