"""Room lifetimes (decisions/009): join.lua gives a room a lifetime when it
creates its allocation, keeps it when the room moves, and never hands out a
number twice for one room id; the seat scripts apply a relay's event only to the
lifetime it was about. Each case runs on the memory model and on the real Lua."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from plaza_control.events.contracts import EventSeats
from plaza_control.events.redis import RedisEventSeats
from plaza_control.keyspace import Keyspace
from plaza_control.repositories.redis import RedisAllocator, RedisScripts
from plaza_control.settings import Settings

from .helpers import relay, user_id, write_heartbeat
from .memory import MemoryAllocator, MemoryEventSeats
from .test_allocator import NOW, Rig, req


@dataclass
class SeatRig(Rig):
    seats: EventSeats | None = None


@pytest.fixture(params=["memory", "redis"])
async def srig(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[SeatRig]:
    if request.param == "memory":
        m = MemoryAllocator()
        yield SeatRig(m, m, None, None, MemoryEventSeats(m, ended_ttl_ms=600_000))
        return
    r = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    scripts = RedisScripts(r)
    yield SeatRig(
        RedisAllocator(r, keyspace, scripts),
        None,
        r,
        keyspace,
        RedisEventSeats(r, keyspace, scripts, ended_ttl_ms=600_000),
    )
    await r.aclose()


async def test_lifetime_starts_at_creation_survives_a_move_and_never_repeats(srig: SeatRig) -> None:
    r = srig
    a, b = relay("relay-a"), relay("relay-b")
    await r.add(a)
    first = await r.alloc.join(req(1, [a], wanted="hall"))
    assert (first.status, first.created, first.room_lifetime) == ("ok", True, 1)
    second = await r.alloc.join(req(2, [a], wanted="hall"))
    assert (second.created, second.room_lifetime) == (False, 1)
    # The relay dies; the room moves with its lifetime: it is the same room.
    await r.add(b)
    await r.kill("relay-a")
    moved = await r.alloc.join(req(1, [b], wanted="hall", now=NOW + 1000))
    assert moved.relay is not None
    assert (moved.relay.relay_id, moved.room_lifetime) == ("relay-b", 1)
    info = await r.alloc.room("hall")
    assert info is not None
    assert (info.relay_id, info.lifetime) == ("relay-b", 1)
    # Closed: the next room of that id is a new lifetime, and so on.
    assert await r.alloc.release_room("hall") == "relay-b"
    again = await r.alloc.join(req(3, [b], wanted="hall", now=NOW + 2000))
    assert (again.created, again.room_lifetime) == (True, 2)
    await r.alloc.release_room("hall")
    third = await r.alloc.join(req(3, [b], wanted="hall", now=NOW + 3000))
    assert third.room_lifetime == 3
    # A room found by scanning the world carries its lifetime too.
    any_room = await r.alloc.join(req(4, [b], now=NOW + 4000))
    assert any_room.room_lifetime == (3 if any_room.room_id == "hall" else 1)


async def test_events_of_a_closed_lifetime_change_nothing_in_the_next(srig: SeatRig) -> None:
    r = srig
    assert r.seats is not None
    a = relay("relay-a")
    await r.add(a)
    await r.alloc.join(req(1, [a], wanted="den"))
    assert await r.seats.confirm("den", user_id(1), "relay-a", "s1", 1) == 1
    await r.alloc.release_room("den")
    # The same room id on the same relay: lifetime 2.
    new = await r.alloc.join(req(2, [a], wanted="den", now=NOW + 10))
    assert new.room_lifetime == 2
    assert await r.seats.confirm("den", user_id(2), "relay-a", "s2", 2) == 1
    # Late events of lifetime 1 (claimed late, redelivered) are refused.
    assert await r.seats.confirm("den", user_id(1), "relay-a", "s1b", 1) == -3
    # (No session id, so only the lifetime guard stands between it and the seat.)
    assert not await r.seats.release("den", user_id(2), "relay-a", NOW + 20, "", 1)
    assert await r.seats.release_room("den", "relay-a", 1) == ""
    info = await r.alloc.room("den")
    assert info is not None
    assert (info.lifetime, info.seats) == (2, 1)
    assert await r.alloc.user_room(user_id(1)) is None
    # Lifetime 0 (a relay older than decision 009) is applied as before.
    assert await r.seats.confirm("den", user_id(3), "relay-a", "s3", 0) == 1
    assert await r.seats.release("den", user_id(3), "relay-a", NOW + 30, "s3", 0)
    # Events of the current lifetime apply.
    assert await r.seats.release("den", user_id(2), "relay-a", NOW + 40, "s2", 2)
    assert await r.seats.release_room("den", "relay-a", 2) == "relay-a"
    assert await r.alloc.room("den") is None


async def test_a_room_allocated_before_lifetimes_gets_one_at_its_next_join(
    settings: Settings,
) -> None:
    """Upgrade: an allocation written by an older join.lua has no ``lifetime``."""
    client = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    alloc = RedisAllocator(client, keyspace, RedisScripts(client))
    try:
        a = relay("relay-a")
        await write_heartbeat(client, keyspace, a)
        await alloc.join(req(1, [a], wanted="old"))
        await client.hdel(keyspace.room("old"), "lifetime")
        await client.delete(keyspace.room_lifetimes)
        out = await alloc.join(req(2, [a], wanted="old"))
        assert (out.created, out.room_lifetime) == (False, 1)
        assert await client.hget(keyspace.room("old"), "lifetime") == b"1"
    finally:
        await client.aclose()
