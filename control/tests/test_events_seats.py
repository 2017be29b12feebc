"""The ``seats`` consumer group against real Redis (and FerretDB, or none): seats
are confirmed without MongoDB, every seat script is idempotent for a redelivered
batch, and the group is created next to ``control`` (or after it, on upgrade)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import PyMongoError

from plaza_control import codec
from plaza_control.clock import system_clock_ms
from plaza_control.events.consumer import EventConsumer
from plaza_control.events.redis import entry_before
from plaza_control.models import ChatMessage, MemberJoined, MemberLeft, RoomClosed, RoomEvent
from plaza_control.repositories.base import JoinRequest
from plaza_control.repositories.tombstones import trim_ended_sessions

from .helpers import relay, user_id, write_heartbeat
from .test_events_consumer import CONFIRMED, Rig, _drain, _join_one, _mongo_down, _rig, rig

__all__ = ["rig"]


async def _reserve(rig: Rig, n: int, world_capacity: int = 50) -> dict[int, str]:
    """Join users 1..n through join.lua (reservations, 60 s); returns user -> room."""
    await write_heartbeat(rig.r, rig.keyspace, relay("relay-a", capacity=100_000))
    [info] = await rig.svc.allocator.relays()
    rooms: dict[int, str] = {}
    for u in range(1, n + 1):
        out = await rig.svc.allocator.join(
            JoinRequest(
                user_id=user_id(u),
                world_id="lobby",
                room_capacity=world_capacity,
                empty_grace_ms=30_000,
                wanted_room="",
                new_room_id=f"storm-{u}",
                now_ms=system_clock_ms(),
                reservation_ms=60_000,
                scan_limit=16,
                candidates=[info],
            )
        )
        assert out.status == "ok"
        rooms[u] = out.room_id
    return rooms


def _joined(rig: Rig, u: int, room: str, session: str) -> RoomEvent:
    return rig.event(MemberJoined(user_id=user_id(u), member_id=u, session_id=session), room=room)


def _left(rig: Rig, u: int, room: str, session: str) -> RoomEvent:
    return rig.event(MemberLeft(user_id=user_id(u), member_id=u, session_id=session), room=room)


async def _allocation(rig: Rig) -> dict[str, Any]:
    """Every allocation key and its value (the whole seat state)."""
    out: dict[str, Any] = {}
    async for k in rig.r.scan_iter(f"{rig.keyspace.alloc}*", count=1000):
        raw: Any = await rig.r.type(k)
        kind = raw.decode()
        if kind == "zset":
            out[k.decode()] = await rig.r.zrange(k, 0, -1, withscores=True)
        elif kind == "hash":
            out[k.decode()] = await rig.r.hgetall(k)
        elif kind == "set":
            out[k.decode()] = sorted(await rig.r.smembers(k))
        elif kind == "string":
            out[k.decode()] = await rig.r.get(k)
    return out


async def test_a_join_storm_is_confirmed_while_mongodb_is_down(rig: Rig, tmp_path: Path) -> None:
    """1,000 joins (20 rooms of 50): the seats group confirms every seat within
    seconds while the control group, with no MongoDB, acknowledges nothing."""
    n = 1000
    rooms = await _reserve(rig, n)
    assert len(set(rooms.values())) == n // 50
    svc = await _rig(_mongo_down(rig, tmp_path, events_block_ms=100))
    consumers = [svc.seat_consumer("seats-1"), svc.records_consumer("control-1")]
    tasks = [asyncio.create_task(c.run()) for c in consumers]
    try:
        start = time.monotonic()
        await rig.xadd(*(_joined(rig, u, rooms[u], f"sess-{u}") for u in range(1, n + 1)))
        deadline = start + 30
        while await _confirmed(rig, set(rooms.values())) < n:
            assert time.monotonic() < deadline, "the seats group did not catch up"
            await asyncio.sleep(0.05)
        took = time.monotonic() - start
        for u in range(1, n + 1):
            assert await rig.seat(rooms[u], u) == CONFIRMED
        # The control group could not write sessions: it reports MongoDB down
        # (its first write times out after mongo_timeout_ms, possibly after
        # the seats were all confirmed) and acknowledges nothing.
        control_errors = svc.metrics.events.group("control").errors.labels("mongodb")
        while control_errors._value.get() < 1:
            errors = {
                d: svc.metrics.events.group("control").errors.labels(d)._value.get()
                for d in ("redis", "mongodb", "other")
            }
            assert time.monotonic() < deadline, f"no MongoDB error in the control group: {errors}"
            await asyncio.sleep(0.05)
        assert await _unacked(rig, "control") == n
        assert svc.metrics.events.group("seats").consumed.labels("member_joined")._value.get() == n
        assert svc.metrics.events.group("seats").errors.labels("mongodb")._value.get() == 0
        # Far below the 60 s reservation, on a loaded shared 2-core machine.
        assert took < 20, took
    finally:
        # stop() as well as cancel(): on Python 3.11 a cancellation can be lost
        # inside the Redis client (EventConsumer.stop); a stuck task must fail
        # the test, not hang the run.
        for c in consumers:
            c.stop()
        for t in tasks:
            t.cancel()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
        await svc.close()
    # MongoDB back: a healthy control consumer takes over the pending entries.
    ok = rig.consumer("ok", claim_idle_ms=100, block_ms=50)
    await asyncio.sleep(0.2)
    await ok.claim()
    await _drain(ok)
    assert await rig.pending() == 0
    assert await rig.svc.db.sessions.count_documents({}) == n


async def _unacked(rig: Rig, group: str) -> int:
    """Entries of the stream the group has not acknowledged (pending + lag)."""
    for g in await rig.r.xinfo_groups(rig.keyspace.events):
        if g["name"].decode() == group:
            return int(g["pending"]) + int(g["lag"])
    raise AssertionError(f"no group {group}")


async def _confirmed(rig: Rig, rooms: set[str]) -> int:
    n = 0
    for room in rooms:
        n += int(await rig.r.zcount(rig.keyspace.room_seats(room), CONFIRMED, CONFIRMED))
    return n


async def test_a_redelivered_batch_changes_nothing(rig: Rig) -> None:
    """A consumer applies a batch and dies before XACK; another claims and applies
    it again, after the users moved on. The allocation state is what one
    application left, byte for byte, except for what happened since."""
    await write_heartbeat(rig.r, rig.keyspace, relay("relay-a"))
    r1, r2, r3, r4 = [await _reserve_one(rig, u, f"room-{u}") for u in range(1, 5)]
    await rig.xadd(
        _joined(rig, 1, r1, "s1"),
        _joined(rig, 2, r2, "s2"),
        _left(rig, 2, r2, "s2"),  # user 2 leaves
        _joined(rig, 3, r3, "s3"),
        _joined(rig, 3, r3, "s3b"),  # user 3 reconnects: a second session...
        _left(rig, 3, r3, "s3"),  # ...then the first one's leave: the seat stays
        _joined(rig, 4, r4, "s4"),
        rig.event(RoomClosed(reason="closed"), room=r4),
    )
    crashed = rig.seat_consumer("crashed", block_ms=50)
    await crashed._stream.ensure_group()
    entries = await crashed._stream.read(100, 50, pending=False)
    assert len(entries) == 8
    await crashed._handler.apply([codec.decode_room_event(f[b"e"]) for _, f in entries])
    once = await _allocation(rig)
    assert await rig.seat(r1, 1) == CONFIRMED
    assert await rig.seat(r2, 2) is None
    assert await rig.seat(r3, 3) == CONFIRMED
    assert await rig.svc.allocator.room(r4) is None
    # Applying it again at once leaves the same state.
    await crashed._handler.apply([codec.decode_room_event(f[b"e"]) for _, f in entries])
    assert await _allocation(rig) == once
    # Meanwhile user 2 comes back (a new reservation in its old room).
    back = await _reserve_one(rig, 2, r2)
    assert back == r2
    # The survivor claims the dead consumer's batch and applies it once more:
    # neither s2's join nor its leave touches the new reservation.
    survivor = rig.seat_consumer("survivor", claim_idle_ms=100, block_ms=50)
    await asyncio.sleep(0.2)
    assert await survivor.claim() == 8
    score = await rig.seat(r2, 2)
    assert score is not None
    assert score != CONFIRMED
    assert await rig.seat(r3, 3) == CONFIRMED
    assert await rig.svc.allocator.room(r4) is None
    assert await rig.pending(rig.settings.events_seats_group) == 0
    relays = await rig.svc.allocator.relays()
    assert relays[0].seats == 3  # users 1, 2 (reserved) and 3


async def _reserve_one(rig: Rig, u: int, room: str) -> str:
    return await _join_one(rig, u, room)


async def test_a_late_join_after_its_leave_confirms_nothing(rig: Rig) -> None:
    """Two seat consumers: the one holding a join dies; the other applies the
    leave first, then claims the join. The seat is not confirmed (a tombstone
    of the ended session)."""
    rooms = await _reserve(rig, 1)
    room = rooms[1]
    await rig.xadd(_joined(rig, 1, room, "s1"))
    slow = rig.seat_consumer("slow", block_ms=50)
    await slow._stream.ensure_group()
    assert len(await slow._stream.read(10, 50, pending=False)) == 1  # and dies
    await rig.xadd(_left(rig, 1, room, "s1"))
    fast = rig.seat_consumer("fast", claim_idle_ms=300, block_ms=50)
    await _drain(fast)
    assert await rig.seat(room, 1) is None
    # The tombstone: a member of A sessions_ended (decisions/012), kept while
    # the join is pending, whatever housekeeping trims.
    assert await rig.r.zscore(rig.keyspace.sessions_ended, "relay-a:s1") is not None
    await asyncio.sleep(0.4)
    await trim_ended_sessions(rig.r, rig.keyspace, rig.settings.events_seats_group)
    assert await rig.r.zscore(rig.keyspace.sessions_ended, "relay-a:s1") is not None
    assert await fast.claim() == 1
    assert await rig.seat(room, 1) is None
    assert await rig.svc.allocator.user_room(user_id(1)) is None
    assert rig.metrics("seats").stale.labels("member_joined")._value.get() == 1


async def test_groups_are_created_together_and_undecodable_entries_are_skipped(
    rig: Rig,
) -> None:
    seats = rig.seat_consumer("s", block_ms=50)
    await rig.r.xadd(rig.keyspace.events, {"e": b"\x00junk"})
    await _drain(seats)
    names = {g["name"].decode() for g in await rig.r.xinfo_groups(rig.keyspace.events)}
    assert names == {"control", "seats"}
    assert rig.metrics("seats").dead_letters._value.get() == 1
    assert await rig.pending("seats") == 0
    # The control group, created at 0 at the same time, still gets the entry
    # and stores it as a dead letter.
    c = rig.consumer("c", block_ms=50)
    await _drain(c)
    assert await rig.svc.db.dead_letters.count_documents({}) == 1


async def test_upgrade_starts_the_seats_group_where_control_still_has_work(rig: Rig) -> None:
    """A control group made by a version that confirmed seats itself: the new
    seats group starts just before its oldest unacknowledged entry, so nothing
    the old version did not apply is missed and history is not replayed."""
    rooms = await _reserve(rig, 3)
    await rig.r.xgroup_create(rig.keyspace.events, "control", id="0", mkstream=True)
    await rig.xadd(*(_joined(rig, u, rooms[u], f"s{u}") for u in (1, 2, 3)))
    old: Any = await rig.r.xreadgroup("control", "old", {rig.keyspace.events: ">"}, count=3)
    ids = [entry_id for entry_id, _ in old[0][1]]
    await rig.r.xack(rig.keyspace.events, "control", ids[0])  # the old version applied #1
    seats = rig.seat_consumer("new", block_ms=50)
    assert await seats._stream.ensure_group()
    await _drain(seats)
    assert await rig.seat(rooms[1], 1) != CONFIRMED  # before the start: not replayed
    assert await rig.seat(rooms[2], 2) == CONFIRMED
    assert await rig.seat(rooms[3], 3) == CONFIRMED


@pytest.mark.parametrize(
    ("entry", "before"),
    [("5-3", "5-2"), ("5-0", f"4-{2**64 - 1}"), ("0-0", "0"), ("0-1", "0-0")],
)
def test_entry_before(entry: str, before: str) -> None:
    assert entry_before(entry) == before


async def test_mongodb_errors_never_reach_the_seats_group(rig: Rig, tmp_path: Path) -> None:
    svc = await _rig(_mongo_down(rig, tmp_path))
    try:
        await rig.xadd(rig.event(ChatMessage(sequence=1, user_id=user_id(1), text="x")))
        seats: EventConsumer = svc.seat_consumer("s")
        control: EventConsumer = svc.records_consumer("c")
        await _drain(seats)
        assert await rig.pending("seats") == 0
        assert await control.step() == 0
        with pytest.raises(PyMongoError):
            await control.step()
    finally:
        await svc.close()


async def test_a_stopped_consumer_returns_without_a_cancellation(rig: Rig) -> None:
    """Shutdown does not depend on the task's cancellation reaching the loop."""
    c = rig.seat_consumer("s", block_ms=100)
    task = asyncio.create_task(c.run())
    await asyncio.sleep(0.3)
    c.stop()
    await asyncio.wait_for(task, timeout=5)


async def test_the_seats_consumer_trims_tombstones_in_its_housekeeping(rig: Rig) -> None:
    """decisions/012: once the group has acknowledged everything before them,
    the tombstones go with the consumer's next housekeeping."""
    rooms = await _reserve(rig, 3)
    await rig.xadd(*(_joined(rig, u, rooms[u], f"t{u}") for u in (1, 2, 3)))
    await rig.xadd(*(_left(rig, u, rooms[u], f"t{u}") for u in (1, 2, 3)))
    seats = rig.seat_consumer("s", block_ms=50)
    await _drain(seats)
    assert await rig.r.zcard(rig.keyspace.sessions_ended) == 3
    assert seats._housekeeping is not None
    await seats._housekeeping()
    assert await rig.r.zcard(rig.keyspace.sessions_ended) == 3  # within the 1 s margin
    await asyncio.sleep(1.1)
    await rig.xadd(_joined(rig, 1, rooms[1], "t4"))
    await _drain(seats)
    await seats._housekeeping()
    assert await rig.r.zcard(rig.keyspace.sessions_ended) == 0
