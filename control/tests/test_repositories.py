"""Repository conformance: one suite per contract of ``repositories/base.py``,
each case run against the in-memory fake the service unit tests use
(``control/tests/memory.py``) and against the real implementation (MongoDB
stores on FerretDB, Redis stores on Redis), centrifuge's ``testX(t, factory)``
pattern. The allocator has its own suite (``test_allocator.py``) and relay
choice its own table (``test_placement.py``).

Where a contract leaves something open, the case says so and checks only what
both must do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from plaza_control.errors import Conflict, NotFound
from plaza_control.keyspace import Keyspace
from plaza_control.models import (
    ApiKey,
    AuditEntry,
    AuditFilter,
    Ban,
    CommandRecord,
    Mute,
    RefreshRecord,
    Role,
    User,
    World,
    WorldSettings,
)
from plaza_control.repositories import base, mongo
from plaza_control.repositories.redis import (
    RedisCommandBus,
    RedisConfigCache,
    RedisJoinGate,
    RedisRateLimiter,
)
from plaza_control.settings import Settings

from . import memory
from .helpers import user_id

NOW = 1_800_000_000_000


# MongoDB-side stores.


@dataclass
class Stores:
    users: base.UserRepository
    bans: base.BanRepository
    refresh: base.RefreshTokenRepository
    api_keys: base.ApiKeyRepository
    audit: base.AuditRepository
    worlds: base.WorldRepository
    commands: base.CommandRepository


@pytest.fixture(params=["memory", "mongo"])
async def stores(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Stores]:
    if request.param == "memory":
        yield Stores(
            memory.MemoryUserRepository(),
            memory.MemoryBanRepository(),
            memory.MemoryRefreshTokenRepository(),
            memory.MemoryApiKeyRepository(),
            memory.MemoryAuditRepository(),
            memory.MemoryWorldRepository(),
            memory.MemoryCommandRepository(),
        )
        return
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    db = client[settings.mongo_db]
    await mongo.ensure_indexes(db)
    try:
        yield Stores(
            mongo.MongoUserRepository(db),
            mongo.MongoBanRepository(db),
            mongo.MongoRefreshTokenRepository(db),
            mongo.MongoApiKeyRepository(db),
            mongo.MongoAuditRepository(db),
            mongo.MongoWorldRepository(db),
            mongo.MongoCommandRepository(db),
        )
    finally:
        await client.close()


def _user(n: int, *, device: str | None = None, external: str | None = None) -> User:
    return User(
        id=user_id(n),
        display_name=f"user {n}",
        kind="external" if external else "guest",
        created_at_ms=NOW,
        device_hash=device,
        external_key=external,
    )


async def test_users_create_get_and_lookups(stores: Stores) -> None:
    ann = await stores.users.create(_user(1, device="dev-1"))
    eve = await stores.users.create(_user(2, external="iss|sub-2"))
    assert await stores.users.get(ann.id) == ann
    assert await stores.users.get(user_id(9)) is None
    assert await stores.users.by_device("dev-1") == ann
    assert await stores.users.by_device("dev-x") is None
    assert await stores.users.by_external("iss|sub-2") == eve
    assert await stores.users.by_external("iss|x") is None


async def test_users_create_returns_the_existing_user_of_a_known_key(stores: Stores) -> None:
    first = await stores.users.create(_user(1, device="dev-1"))
    again = await stores.users.create(_user(3, device="dev-1"))
    assert again == first
    assert await stores.users.get(user_id(3)) is None
    ext = await stores.users.create(_user(4, external="iss|s"))
    assert await stores.users.create(_user(5, external="iss|s")) == ext


async def test_users_id_collision_is_a_conflict(stores: Stores) -> None:
    await stores.users.create(_user(1, device="dev-1"))
    with pytest.raises(Conflict):
        await stores.users.create(_user(1, device="dev-2"))


async def test_users_page_by_id(stores: Stores) -> None:
    for n in (3, 1, 2, 5, 4):
        await stores.users.create(_user(n, device=f"dev-{n}"))
    first = await stores.users.page(2, None)
    assert [u.id for u in first] == [user_id(1), user_id(2)]
    rest = await stores.users.page(10, first[-1].id)
    assert [u.id for u in rest] == [user_id(3), user_id(4), user_id(5)]
    assert await stores.users.page(10, user_id(5)) == []


async def test_users_search_by_name_prefix_device_and_identity(stores: Stores) -> None:
    names = {1: "Al.ice", 2: "Alfred", 3: "Alxice", 4: "bob", 5: "Al.ice B"}
    for n, name in names.items():
        user = msgspec.structs.replace(_user(n, device=f"dev-{n}"), display_name=name)
        await stores.users.create(user)
    await stores.users.create(_user(6, external="iss|sub-6"))

    async def ids(**kw: Any) -> list[str]:
        return [u.id for u in await stores.users.page(10, kw.pop("after", None), **kw)]

    assert await ids(name_prefix="Al") == [user_id(1), user_id(2), user_id(3), user_id(5)]
    # The prefix is literal: "." is not "any character"; case matters.
    assert await ids(name_prefix="Al.i") == [user_id(1), user_id(5)]
    assert await ids(name_prefix="al") == []
    assert await ids(name_prefix="Al", after=user_id(2)) == [user_id(3), user_id(5)]
    assert await ids(device_hash="dev-4") == [user_id(4)]
    assert await ids(device_hash="dev-4", name_prefix="Al") == []
    assert await ids(external_key="iss|sub-6") == [user_id(6)]
    assert await ids(external_key="iss|nope") == []


async def test_bans_put_replace_get_delete(stores: Stores) -> None:
    ban = Ban(user_id=user_id(1), reason="spam", until_ms=0, by="k1", at_ms=NOW)
    await stores.bans.put(ban)
    assert await stores.bans.get(user_id(1)) == ban
    longer = Ban(user_id=user_id(1), reason="more spam", until_ms=NOW + 5, by="k2", at_ms=NOW + 1)
    await stores.bans.put(longer)
    assert await stores.bans.get(user_id(1)) == longer
    other = Ban(user_id=user_id(2), reason="x", until_ms=0, by="k1", at_ms=NOW)
    await stores.bans.put(other)
    assert sorted(await stores.bans.all(), key=lambda b: b.user_id) == [longer, other]
    assert await stores.bans.delete(user_id(1))
    assert not await stores.bans.delete(user_id(1))
    assert await stores.bans.get(user_id(1)) is None


def _refresh(h: str, family: str = "fam-1", expires: int = NOW + 1000) -> RefreshRecord:
    return RefreshRecord(
        hash=h, family=family, user_id=user_id(1), created_at_ms=NOW, expires_at_ms=expires
    )


async def test_refresh_claim_once(stores: Stores) -> None:
    rec = _refresh("h1")
    await stores.refresh.insert(rec)
    assert await stores.refresh.get("h1") == rec
    assert await stores.refresh.claim("h1", NOW) == rec  # the record as it was
    assert await stores.refresh.claim("h1", NOW) is None
    got = await stores.refresh.get("h1")
    assert got is not None
    assert got.rotated
    assert not got.revoked
    assert await stores.refresh.claim("unknown", NOW) is None


async def test_refresh_claim_refuses_expired_and_revoked(stores: Stores) -> None:
    await stores.refresh.insert(_refresh("old", expires=NOW))
    assert await stores.refresh.claim("old", NOW) is None
    assert await stores.refresh.claim("old", NOW - 1) is not None
    await stores.refresh.insert(_refresh("a", family="fam-2"))
    await stores.refresh.insert(_refresh("b", family="fam-2"))
    await stores.refresh.insert(_refresh("c", family="fam-3"))
    assert await stores.refresh.revoke_family("fam-2") == 2
    assert await stores.refresh.revoke_family("fam-2") == 0  # counts newly revoked only
    assert await stores.refresh.claim("a", NOW) is None
    assert await stores.refresh.claim("c", NOW) is not None


async def test_concurrent_claims_have_one_winner(
    stores: Stores, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["stores"] == "mongo":
        # Found by this suite: FerretDB 1.24 (SQLite) runs findAndModify and
        # update_one as a read then a write, so concurrent claims of one token
        # can all win; MongoDB's single-document updates are atomic. Not strict:
        # a race is likely over ten tokens, not certain.
        request.node.add_marker(
            pytest.mark.xfail(strict=False, reason="FerretDB 1.24 updates are not atomic")
        )
    for n in range(10):
        await stores.refresh.insert(_refresh(f"h{n}"))
        won = await asyncio.gather(*(stores.refresh.claim(f"h{n}", NOW) for _ in range(8)))
        assert sum(r is not None for r in won) == 1, f"token {n}"


async def test_api_keys_insert_get(stores: Stores) -> None:
    key = ApiKey(id="0123456789ab", name="ops", role=Role.MODERATOR, hash="f" * 64, created_at_ms=1)
    await stores.api_keys.insert(key)
    assert await stores.api_keys.get(key.id) == key
    assert await stores.api_keys.get("ba9876543210") is None


async def test_api_keys_all_revoke_touch(stores: Stores) -> None:
    def key(i: str, created: int) -> ApiKey:
        return ApiKey(id=i * 12, name=i, role=Role.ADMIN, hash=i * 64, created_at_ms=created)

    for k in (key("b", 2), key("a", 2), key("c", 1)):
        await stores.api_keys.insert(k)
    assert [k.id for k in await stores.api_keys.all()] == ["c" * 12, "a" * 12, "b" * 12]
    assert await stores.api_keys.revoke("a" * 12)
    assert await stores.api_keys.revoke("a" * 12), "revoking twice is fine"
    assert not await stores.api_keys.revoke("0" * 12)
    got = await stores.api_keys.get("a" * 12)
    assert got is not None
    assert got.revoked
    assert got.last_used_at_ms == 0
    await stores.api_keys.touch("a" * 12, 500)
    await stores.api_keys.touch("a" * 12, 400)  # never lowered
    await stores.api_keys.touch("0" * 12, 400)  # unknown: nothing
    got = await stores.api_keys.get("a" * 12)
    assert got is not None
    assert got.last_used_at_ms == 500
    other = await stores.api_keys.get("b" * 12)
    assert other is not None
    assert (other.revoked, other.last_used_at_ms) == (False, 0)


def _audit(i: int) -> AuditEntry:
    return AuditEntry(
        id=f"{NOW + i:013d}-0000000{i}",
        at_ms=NOW + i,
        actor="k1",
        action="user.ban",
        target=user_id(i),
        result="ok",
        status=200,
    )


async def test_audit_pages_newest_first(stores: Stores) -> None:
    for i in (2, 0, 4, 1, 3):
        await stores.audit.append(_audit(i))
    first = await stores.audit.page(2, None)
    assert first == [_audit(4), _audit(3)]
    assert await stores.audit.page(10, first[-1].id) == [_audit(2), _audit(1), _audit(0)]


async def test_audit_filters(stores: Stores) -> None:
    rows = [
        msgspec.structs.replace(_audit(0), actor="k1", actor_name="ann", action="user.ban"),
        msgspec.structs.replace(_audit(1), actor="k2", actor_name="bob", action="room.kick"),
        msgspec.structs.replace(
            _audit(2), actor="k1", actor_name="ann", action="room.kick", target="lobby.r1/u_x"
        ),
        msgspec.structs.replace(_audit(3), actor="k2", actor_name="", action="user.ban"),
    ]
    for e in rows:
        await stores.audit.append(e)

    async def ids(**kw: Any) -> list[int]:
        found = await stores.audit.page(10, None, AuditFilter(**kw))
        return [e.at_ms - NOW for e in found]

    assert await ids() == [3, 2, 1, 0]
    assert await ids(actor="k1") == [2, 0]
    assert await ids(actor="bob") == [1]
    assert await ids(action="room.kick") == [2, 1]
    assert await ids(target="lobby.r1") == [2]
    assert await ids(target="lobby.r1/u_y") == []
    assert await ids(since_ms=NOW + 1, until_ms=NOW + 3) == [2, 1]
    assert await ids(actor="k2", action="user.ban") == [3]
    assert await stores.audit.page(10, None) == list(reversed(rows))


def _world(world_id: str = "lobby") -> World:
    return World(
        id=world_id,
        name="Lobby",
        version=1,
        settings=WorldSettings(),
        created_at_ms=NOW,
        updated_at_ms=NOW,
    )


async def test_worlds_create_conflict_get_all_delete(stores: Stores) -> None:
    lobby = await stores.worlds.create(_world())
    assert lobby == _world()
    with pytest.raises(Conflict):
        await stores.worlds.create(_world())
    await stores.worlds.create(_world("arena"))
    assert [w.id for w in await stores.worlds.all()] == ["arena", "lobby"]
    assert await stores.worlds.get("lobby") == lobby
    assert await stores.worlds.delete("lobby")
    assert not await stores.worlds.delete("lobby")
    assert await stores.worlds.get("lobby") is None


async def test_worlds_update_versions_and_checks(stores: Stores) -> None:
    await stores.worlds.create(_world())
    small = WorldSettings(room_capacity=5)
    w2 = await stores.worlds.update("lobby", None, small, None, NOW + 10)
    assert (w2.name, w2.settings, w2.version, w2.updated_at_ms) == ("Lobby", small, 2, NOW + 10)
    w3 = await stores.worlds.update("lobby", "Hall", None, 2, NOW + 20)
    assert (w3.name, w3.settings, w3.version) == ("Hall", small, 3)
    assert await stores.worlds.get("lobby") == w3
    with pytest.raises(Conflict):
        await stores.worlds.update("lobby", "Other", None, 2, NOW + 30)
    with pytest.raises(NotFound):
        await stores.worlds.update("nowhere", "x", None, None, NOW)


async def test_commands_insert_get(stores: Stores) -> None:
    rec = CommandRecord(
        id="c0ffee00-0000-4000-8000-000000000001",
        at_ms=NOW,
        issued_by="k1",
        target_relay_id="relay-a",
        kind="kick",
        body={"room_id": "r", "user_id": user_id(1), "reason": "x"},
    )
    await stores.commands.insert(rec)
    assert await stores.commands.get(rec.id) == rec
    assert await stores.commands.get("c0ffee00-0000-4000-8000-000000000002") is None


async def test_pending_commands_past_their_deadline_expire(stores: Stores) -> None:
    """A command no relay acknowledged by its deadline reaches the final state
    ``expired``; an acknowledged one, or one still in time, is left alone."""

    def rec(n: int, deadline_ms: int, ack: str = "pending") -> CommandRecord:
        return CommandRecord(
            id=f"c0ffee00-0000-4000-8000-00000000001{n}",
            at_ms=NOW,
            issued_by="k1",
            target_relay_id="relay-a",
            kind="drain",
            body={},
            ack=ack,  # type: ignore[arg-type]
            deadline_ms=deadline_ms,
        )

    late, in_time, acked = rec(1, NOW + 30_000), rec(2, NOW + 90_000), rec(3, NOW + 30_000, "ok")
    for r in (late, in_time, acked):
        await stores.commands.insert(r)
    assert await stores.commands.expire(NOW + 60_000) == 1
    assert await stores.commands.expire(NOW + 60_000) == 0
    got = await stores.commands.get(late.id)
    assert got is not None
    assert got.ack == "expired"
    assert "deadline" in got.ack_detail
    assert await stores.commands.get(in_time.id) == in_time
    assert await stores.commands.get(acked.id) == acked


# Redis-side stores.


@dataclass
class RedisSide:
    cache: base.ConfigCache
    limiter: base.RateLimiter
    gate: base.JoinGate
    bus: base.CommandBus
    #: Let ``ms`` pass for the rate limiter's windows.
    advance: Callable[[int], Awaitable[None]]
    #: Start receiving one channel ('' broadcast); returns a function that
    #: answers what arrived so far.
    subscribe: Callable[[str], Awaitable[Callable[[], Awaitable[list[bytes]]]]]


@pytest.fixture(params=["memory", "redis"])
async def side(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[RedisSide]:
    if request.param == "memory":
        cache = memory.MemoryConfigCache()
        limiter = memory.MemoryRateLimiter()
        bus = memory.MemoryCommandBus()

        async def advance(ms: int) -> None:
            limiter.now_ms += ms

        async def subscribe(relay_id: str) -> Callable[[], Awaitable[list[bytes]]]:
            inbox = bus.subscribe(relay_id)

            async def received() -> list[bytes]:
                return list(inbox)

            return received

        gate = memory.MemoryJoinGate(limiter, cache)
        yield RedisSide(cache, limiter, gate, bus, advance, subscribe)
        return
    r = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    pubsubs: list[Any] = []
    rcache = RedisConfigCache(r, keyspace)
    rbus = RedisCommandBus(r, keyspace)

    async def sleep(ms: int) -> None:
        await asyncio.sleep(ms / 1000)

    async def redis_subscribe(relay_id: str) -> Callable[[], Awaitable[list[bytes]]]:
        ps = r.pubsub(ignore_subscribe_messages=True)
        pubsubs.append(ps)
        await ps.subscribe(keyspace.cmd_relay(relay_id) if relay_id else keyspace.cmd_all)
        got: list[bytes] = []

        async def received() -> list[bytes]:
            # get_message answers None for the (ignored) subscribe confirmation
            # as for silence: read for a fixed while instead of until None.
            deadline = asyncio.get_running_loop().time() + 0.3
            while asyncio.get_running_loop().time() < deadline:
                msg = await ps.get_message(timeout=0.05)
                if msg is not None:
                    got.append(msg["data"])
            return list(got)

        return received

    try:
        yield RedisSide(
            rcache,
            RedisRateLimiter(r, keyspace),
            RedisJoinGate(r, keyspace, rcache),
            rbus,
            sleep,
            redis_subscribe,
        )
    finally:
        for ps in pubsubs:
            await ps.aclose()
        await r.aclose()


async def test_cache_worlds(side: RedisSide) -> None:
    assert await side.cache.lookup("lobby", user_id(1)) == (None, None)
    small = WorldSettings(room_capacity=5, chats_per_second=1.5)
    await side.cache.put_world("lobby", 3, small)
    world, ban = await side.cache.lookup("lobby", user_id(1))
    assert ban is None
    assert world is not None
    assert (world.world_id, world.version, world.settings) == ("lobby", 3, small)
    await side.cache.put_world("lobby", 4, WorldSettings())
    world, _ = await side.cache.lookup("lobby", user_id(1))
    assert world is not None
    assert world.version == 4
    await side.cache.drop_world("lobby")
    assert await side.cache.lookup("lobby", user_id(1)) == (None, None)


async def test_cache_bans(side: RedisSide) -> None:
    """A live ban is returned whole; an ended one is left open by the contract."""
    forever = Ban(user_id=user_id(1), reason="spam", until_ms=0, by="k1", at_ms=NOW)
    later = Ban(user_id=user_id(2), reason="x", until_ms=2**50, by="k1", at_ms=NOW)
    await side.cache.put_ban(forever)
    await side.cache.put_ban(later)
    assert await side.cache.lookup("lobby", user_id(1)) == (None, forever)
    assert await side.cache.lookup("lobby", user_id(2)) == (None, later)
    await side.cache.drop_ban(user_id(1))
    assert await side.cache.lookup("lobby", user_id(1)) == (None, None)


async def test_mutes_are_read_by_the_join_gate(side: RedisSide) -> None:
    """``P mute:{<user>}`` (decisions/009): put replaces, drop removes, the join
    gate reads it in its one round trip. An ended mute is left open by the
    contract (readers check ``Mute.active``)."""
    await side.cache.put_world("lobby", 1, WorldSettings())
    room = Mute(user_id=user_id(1), reason="r", until_ms=2**50, by="k1", at_ms=NOW, room_id="hall")
    forever = Mute(user_id=user_id(1), reason="f", until_ms=0, by="k1", at_ms=NOW)
    buckets = [("join-user", user_id(1), 100)]
    assert (await side.gate.admit(buckets, 60_000, "lobby", user_id(1))).mute is None
    await side.cache.put_mute(room)
    assert (await side.gate.admit(buckets, 60_000, "lobby", user_id(1))).mute == room
    await side.cache.put_mute(forever)
    assert (await side.gate.admit(buckets, 60_000, "lobby", user_id(1))).mute == forever
    assert await side.cache.drop_mute(user_id(1))
    assert not await side.cache.drop_mute(user_id(1))
    assert (await side.gate.admit(buckets, 60_000, "lobby", user_id(1))).mute is None


async def test_rate_limits_count_per_bucket(side: RedisSide) -> None:
    window = 60_000
    ip = ("join-ip", "1.1.1.1", 3)
    assert [await side.limiter.hit([ip], window) for _ in range(3)] == [None, None, None]
    wait = await side.limiter.hit([ip], window)
    assert wait is not None
    assert 0 < wait <= window
    # Another subject and another scope have their own windows.
    assert await side.limiter.hit([("join-ip", "2.2.2.2", 3)], window) is None
    assert await side.limiter.hit([("join-user", "1.1.1.1", 3)], window) is None
    # One exceeded bucket among several refuses the request.
    assert await side.limiter.hit([("join-user", "u", 5), ip], window) is not None


async def test_rate_limit_window_resets(side: RedisSide) -> None:
    window = 300
    bucket = ("signin-ip", "3.3.3.3", 1)
    assert await side.limiter.hit([bucket], window) is None
    assert await side.limiter.hit([bucket], window) is not None
    await side.advance(window + 100)
    assert await side.limiter.hit([bucket], window) is None


async def test_join_gate_counts_and_reads_in_one_step(side: RedisSide) -> None:
    await side.cache.put_world("lobby", 2, WorldSettings())
    ban = Ban(user_id=user_id(1), reason="spam", until_ms=0, by="k1", at_ms=NOW)
    await side.cache.put_ban(ban)
    buckets = [("join-user", user_id(1), 1)]
    first = await side.gate.admit(buckets, 60_000, "lobby", user_id(1))
    assert first.wait_ms is None
    assert first.ban == ban
    assert first.world is not None
    assert first.world.version == 2
    second = await side.gate.admit(buckets, 60_000, "nowhere", user_id(2))
    assert second.wait_ms is not None
    assert (second.world, second.ban) == (None, None)
    # The gate and the limiter count into the same buckets.
    assert await side.limiter.hit(buckets, 60_000) is not None


async def test_command_bus_channels(side: RedisSide) -> None:
    assert await side.bus.publish("relay-a", b"nobody listens") == 0
    assert await side.bus.subscribers("relay-a") == 0
    to_a = await side.subscribe("relay-a")
    to_all = await side.subscribe("")
    assert (await side.bus.subscribers("relay-a"), await side.bus.subscribers("")) == (1, 1)
    assert await side.bus.subscribers("relay-b") == 0
    assert await side.bus.publish("relay-a", b"kick") == 1
    assert await side.bus.publish("", b"reload") == 1
    assert await side.bus.publish("relay-b", b"elsewhere") == 0
    assert await to_a() == [b"kick"]
    assert await to_all() == [b"reload"]
