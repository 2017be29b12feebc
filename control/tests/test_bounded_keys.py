"""Coordination keys that must not grow without bound (docs/decisions/012), on
real Redis: room snapshots are deleted once their lifetime ended (and only
then), and session tombstones live in one sorted set, trimmed by the events
group's progress and by their TTL, while still making member events
idempotent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import flatbuffers
import pytest
import redis.asyncio as aioredis

from plaza.coord.RoomStateSnapshot import RoomStateSnapshotT
from plaza_control.events.redis import RedisEventSeats
from plaza_control.keyspace import Keyspace
from plaza_control.repositories.redis import RedisAllocator, RedisScripts
from plaza_control.repositories.snapshots import forget_ended_snapshot, lifetime_ended
from plaza_control.repositories.tombstones import oldest_unacked_ms, trim_ended_sessions
from plaza_control.settings import Settings

from .helpers import relay, user_id, write_heartbeat
from .test_allocator import NOW, req

GROUP = "seats"


@dataclass
class Bed:
    r: aioredis.Redis
    k: Keyspace
    alloc: RedisAllocator
    seats: RedisEventSeats


@pytest.fixture
async def bed(settings: Settings) -> AsyncIterator[Bed]:
    r = aioredis.Redis.from_url(settings.redis_url)
    k = Keyspace(settings.redis_prefix)
    scripts = RedisScripts(r)
    yield Bed(
        r,
        k,
        RedisAllocator(r, k, scripts),
        RedisEventSeats(r, k, scripts, ended_ttl_ms=600_000),
    )
    await r.aclose()


def snapshot(room_id: str, lifetime: int) -> bytes:
    snap = RoomStateSnapshotT()
    snap.roomId, snap.worldId, snap.relayId = room_id, "lobby", "relay-a"
    snap.roomLifetime = lifetime
    snap.entries = []
    b = flatbuffers.Builder(128)
    b.Finish(snap.Pack(b))  # type: ignore[func-returns-value]
    return bytes(b.Output())


async def open_room(bed: Bed, n: int, room: str = "hall", now: int = NOW) -> int:
    a = relay("relay-a")
    await write_heartbeat(bed.r, bed.k, a)
    out = await bed.alloc.join(req(n, [a], wanted=room, now=now))
    assert out.status == "ok"
    return out.room_lifetime


# Snapshots.


@pytest.mark.parametrize(
    ("held", "open_lifetime", "last", "ended"),
    [
        (3, 3, 3, False),  # the open lifetime
        (2, 3, 3, True),  # an earlier one
        (3, None, 3, True),  # released
        (0, None, 0, True),  # written before lifetimes: matches no room
        (0, 3, 3, True),
        (4, 3, 3, False),  # newer than any given: Redis lost data, keep
        (1, None, 0, False),
    ],
)
def test_lifetime_ended(held: int, open_lifetime: int | None, last: int, ended: bool) -> None:
    assert lifetime_ended(held, open_lifetime, last) is ended


async def test_a_live_lifetimes_snapshot_is_kept(bed: Bed) -> None:
    life = await open_room(bed, 1)
    await bed.r.set(bed.k.room_snapshot("hall"), snapshot("hall", life))
    assert not await forget_ended_snapshot(bed.r, bed.k, "hall")
    assert await bed.r.exists(bed.k.room_snapshot("hall")) == 1


async def test_an_operators_release_deletes_the_snapshot(bed: Bed) -> None:
    life = await open_room(bed, 1)
    await bed.r.set(bed.k.room_snapshot("hall"), snapshot("hall", life))
    assert await bed.alloc.release_room("hall") == "relay-a"
    assert await bed.r.exists(bed.k.room_snapshot("hall")) == 0


async def test_the_relays_save_after_a_close_is_deleted_by_its_room_closed(bed: Bed) -> None:
    """Operator close first, then the relay saves the final state and reports
    RoomClosed: room_release releases nothing, the snapshot still goes."""
    life = await open_room(bed, 1)
    assert await bed.alloc.release_room("hall") == "relay-a"
    await bed.r.set(bed.k.room_snapshot("hall"), snapshot("hall", life))
    assert await bed.seats.release_room("hall", "relay-a", life) == ""
    assert await bed.r.exists(bed.k.room_snapshot("hall")) == 0


async def test_a_stale_relays_room_closed_keeps_the_moved_rooms_snapshot(bed: Bed) -> None:
    life = await open_room(bed, 1)
    b = relay("relay-b")
    await write_heartbeat(bed.r, bed.k, b)
    await bed.r.delete(bed.k.relay_hb("relay-a"))
    moved = await bed.alloc.join(req(1, [b], wanted="hall", now=NOW + 1000))
    assert moved.relay is not None
    assert moved.relay.relay_id == "relay-b"
    await bed.r.set(bed.k.room_snapshot("hall"), snapshot("hall", life))
    # relay-a's late RoomClosed: the room lives on relay-b, in the same lifetime.
    assert await bed.seats.release_room("hall", "relay-a", life) == ""
    assert await bed.r.exists(bed.k.room_snapshot("hall")) == 1


async def test_the_next_lifetimes_snapshot_survives_a_late_close_of_the_last(bed: Bed) -> None:
    first = await open_room(bed, 1)
    await bed.alloc.release_room("hall")
    second = await open_room(bed, 2, now=NOW + 1000)
    assert second == first + 1
    await bed.r.set(bed.k.room_snapshot("hall"), snapshot("hall", second))
    assert await bed.seats.release_room("hall", "relay-a", first) == ""
    assert await bed.r.exists(bed.k.room_snapshot("hall")) == 1


async def test_the_sweeper_deletes_snapshots_of_rooms_it_releases(bed: Bed) -> None:
    life = await open_room(bed, 1)
    await bed.r.set(bed.k.room_snapshot("hall"), snapshot("hall", life))
    await bed.alloc.release_seat("hall", user_id(1), NOW)
    # Empty past its 30 s grace: released, and its snapshot with it.
    assert await bed.alloc.sweep(NOW + 31_000) == 1
    assert await bed.alloc.room("hall") is None
    assert await bed.r.exists(bed.k.room_snapshot("hall")) == 0


async def test_a_write_between_the_check_and_the_delete_is_kept(bed: Bed) -> None:
    """The compare-and-delete under WATCH: a relay's write after the read makes
    the transaction fail, the key is read again and, live, kept."""
    life = await open_room(bed, 1)
    await bed.alloc.release_room("hall")
    await bed.r.set(bed.k.room_snapshot("hall"), snapshot("hall", life))
    # A new lifetime opens and its relay writes between WATCH and EXEC.
    key = bed.k.room_snapshot("hall")
    async with bed.r.pipeline(transaction=True) as tx:
        await tx.watch(key)
        await tx.get(key)
        nxt = await open_room(bed, 2, now=NOW + 1000)
        await bed.r.set(key, snapshot("hall", nxt))
        tx.multi()  # type: ignore[no-untyped-call]
        tx.delete(key)
        with pytest.raises(Exception, match="Watched"):
            await tx.execute()
    assert not await forget_ended_snapshot(bed.r, bed.k, "hall")
    assert await bed.r.exists(key) == 1


# Tombstones.


async def test_tombstones_are_members_of_one_key_and_still_idempotent(bed: Bed) -> None:
    life = await open_room(bed, 1)
    s = bed.seats
    assert await s.confirm("hall", user_id(1), "relay-a", "s1", life) == 1
    assert await s.release("hall", user_id(1), "relay-a", NOW, "s1", life)
    # The late join of that session confirms nothing; a second leave frees nothing.
    assert await s.confirm("hall", user_id(1), "relay-a", "s1", life) == -2
    await bed.alloc.join(req(1, [relay("relay-a")], wanted="hall", now=NOW + 10))
    assert not await s.release("hall", user_id(1), "relay-a", NOW + 20, "s1", life)
    assert [x.user_id for x in await bed.alloc.seats("hall")] == [user_id(1)]
    assert await bed.r.zrange(bed.k.sessions_ended, 0, -1) == [b"relay-a:s1"]
    assert [k async for k in bed.r.scan_iter(bed.k.alloc + "ended:*")] == []


async def test_a_legacy_tombstone_still_counts(bed: Bed) -> None:
    life = await open_room(bed, 1)
    await bed.r.set(bed.k.alloc + "ended:relay-a:old", "1", px=600_000)
    assert await bed.seats.confirm("hall", user_id(1), "relay-a", "old", life) == -2
    await bed.seats.confirm("hall", user_id(1), "relay-a", "new", life)
    assert not await bed.seats.release("hall", user_id(1), "relay-a", NOW, "old", life)
    assert len(await bed.alloc.seats("hall")) == 1


async def test_tombstones_older_than_their_ttl_are_dropped_on_the_next_leave(
    settings: Settings, bed: Bed
) -> None:
    short = RedisEventSeats(bed.r, bed.k, RedisScripts(bed.r), ended_ttl_ms=200)
    life = await open_room(bed, 1)
    for n in range(50):
        await short.release("hall", user_id(1), "relay-a", NOW, f"s{n}", life)
    assert await bed.r.zcard(bed.k.sessions_ended) == 50
    await asyncio.sleep(0.3)
    await short.release("hall", user_id(1), "relay-a", NOW, "last", life)
    assert await bed.r.zrange(bed.k.sessions_ended, 0, -1) == [b"relay-a:last"]


async def test_tombstones_go_once_every_event_before_them_is_acknowledged(bed: Bed) -> None:
    """The bound: tombstones applied before the seats group's oldest
    unacknowledged entry are dropped; those it may still need are kept."""
    stream = bed.k.events
    life = await open_room(bed, 1)
    assert await oldest_unacked_ms(bed.r, stream, GROUP) is None  # no stream yet
    await bed.r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    early = await bed.r.xadd(stream, {"e": b"join s1"})
    await bed.r.xreadgroup(GROUP, "c1", {stream: ">"})  # delivered, pending
    await asyncio.sleep(0.01)
    # s1's leave is applied by another consumer while s1's join is pending.
    await bed.seats.release("hall", user_id(1), "relay-a", NOW, "s1", life)
    await asyncio.sleep(1.1)
    assert await trim_ended_sessions(bed.r, bed.k, GROUP) == 0
    assert await bed.seats.confirm("hall", user_id(1), "relay-a", "s1", life) == -2
    # Acknowledged, and the group has moved on: nothing can bring s1's events back.
    await bed.r.xack(stream, GROUP, early)
    await bed.r.xadd(stream, {"e": b"later"})
    await bed.r.xreadgroup(GROUP, "c1", {stream: ">"})
    await asyncio.sleep(1.1)
    await bed.seats.release("hall", user_id(2), "relay-a", NOW, "s2", life)  # newer
    assert await trim_ended_sessions(bed.r, bed.k, GROUP) == 1
    assert await bed.r.zrange(bed.k.sessions_ended, 0, -1) == [b"relay-a:s2"]


async def test_tombstones_stay_bounded_under_churn(bed: Bed) -> None:
    """1,000 leaves while the group keeps up: after a trim only the tombstones
    of the last moments are left, not one per leave."""
    stream = bed.k.events
    life = await open_room(bed, 1)
    await bed.r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    for n in range(1000):
        await bed.seats.release("hall", user_id(1), "relay-a", NOW, f"c{n}", life)
    assert await bed.r.zcard(bed.k.sessions_ended) == 1000
    await asyncio.sleep(1.1)
    eid = await bed.r.xadd(stream, {"e": b"x"})
    await bed.r.xreadgroup(GROUP, "c1", {stream: ">"})
    await bed.r.xack(stream, GROUP, eid)
    await asyncio.sleep(1.1)
    assert await trim_ended_sessions(bed.r, bed.k, GROUP) == 1000
    assert await bed.r.zcard(bed.k.sessions_ended) == 0
