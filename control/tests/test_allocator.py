"""Allocator conformance: the same cases against MemoryAllocator and the real
join.lua on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import flatbuffers
import pytest
import redis.asyncio as aioredis

from plaza.coord.RoomStateSnapshot import RoomStateSnapshotT
from plaza.protocol.StateEntry import StateEntryT
from plaza_control.keyspace import Keyspace
from plaza_control.models import RelayInfo
from plaza_control.repositories.base import Allocator, JoinRequest
from plaza_control.repositories.redis import RedisAllocator, RedisScripts
from plaza_control.settings import Settings

from .helpers import relay, user_id, write_heartbeat
from .memory import MemoryAllocator

NOW = 1_800_000_000_000
RES = 60_000


@dataclass
class Rig:
    alloc: Allocator
    memory: MemoryAllocator | None
    r: aioredis.Redis | None
    keyspace: Keyspace | None

    async def add(self, info: RelayInfo) -> None:
        if self.memory is not None:
            self.memory.heartbeats[info.relay_id] = info
        else:
            assert self.r is not None
            assert self.keyspace is not None
            await write_heartbeat(self.r, self.keyspace, info)

    async def kill(self, relay_id: str) -> None:
        if self.memory is not None:
            del self.memory.heartbeats[relay_id]
        else:
            assert self.r is not None
            assert self.keyspace is not None
            await self.r.delete(self.keyspace.relay_hb(relay_id))


@pytest.fixture(params=["memory", "redis"])
async def rig(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Rig]:
    if request.param == "memory":
        m = MemoryAllocator()
        yield Rig(m, m, None, None)
        return
    r = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    yield Rig(RedisAllocator(r, keyspace, RedisScripts(r)), None, r, keyspace)
    await r.aclose()


def req(
    n: int,
    candidates: list[RelayInfo],
    *,
    cap: int = 3,
    world: str = "lobby",
    wanted: str = "",
    now: int = NOW,
    new_room: str | None = None,
) -> JoinRequest:
    return JoinRequest(
        user_id=user_id(n),
        world_id=world,
        room_capacity=cap,
        empty_grace_ms=30_000,
        wanted_room=wanted,
        new_room_id=new_room or f"{world}.r{n}",
        now_ms=now,
        reservation_ms=RES,
        scan_limit=16,
        candidates=candidates,
    )


async def test_fills_rooms_in_order_and_never_overfills(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    rooms: dict[str, int] = {}
    for n in range(10):
        out = await rig.alloc.join(req(n, [a]))
        assert out.status == "ok"
        assert out.relay is not None
        assert out.relay.relay_id == "relay-a"
        rooms[out.room_id] = out.seats
    assert sorted(rooms.values()) == [1, 3, 3, 3]
    infos = await rig.alloc.rooms("lobby", 100)
    assert sorted(i.seats for i in infos) == [1, 3, 3, 3]
    [info] = await rig.alloc.relays()
    assert info.seats == 10


async def test_rejoin_reuses_the_seat(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    first = await rig.alloc.join(req(1, [a]))
    again = await rig.alloc.join(req(1, [a], now=NOW + 1000))
    assert again.room_id == first.room_id
    assert again.reused
    assert again.seats == 1
    assert (await rig.alloc.relays())[0].seats == 1


async def test_moving_to_another_room_frees_the_old_seat(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    first = await rig.alloc.join(req(1, [a]))
    moved = await rig.alloc.join(req(1, [a], wanted="private-1"))
    assert moved.status == "ok"
    assert moved.room_id == "private-1"
    assert moved.created
    old = await rig.alloc.room(first.room_id)
    assert old is not None
    assert old.seats == 0
    assert await rig.alloc.user_room(user_id(1)) == "private-1"
    assert (await rig.alloc.relays())[0].seats == 1


async def test_wanted_room_full_and_world_mismatch(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    for n in range(2):
        assert (await rig.alloc.join(req(n, [a], cap=2, wanted="vip"))).status == "ok"
    assert (await rig.alloc.join(req(9, [a], cap=2, wanted="vip"))).status == "room_full"
    assert (
        await rig.alloc.join(req(8, [a], cap=2, wanted="vip", world="other"))
    ).status == "world_mismatch"


async def test_no_relay_and_full_relays(rig: Rig) -> None:
    assert (await rig.alloc.join(req(1, []))).status == "no_relay"
    tiny = relay("relay-t", capacity=2)
    await rig.add(tiny)
    assert (await rig.alloc.join(req(1, [tiny], cap=10))).status == "ok"
    assert (await rig.alloc.join(req(2, [tiny], cap=10))).status == "ok"
    # Room has space, relay has none: the room stays on its relay (the relay
    # enforces its own limit), but a new room cannot be placed.
    assert (await rig.alloc.join(req(3, [tiny], cap=10, wanted="elsewhere"))).status == "no_relay"


async def test_least_loaded_relay_wins(rig: Rig) -> None:
    busy = relay("relay-busy", capacity=100, connections=90)
    idle = relay("relay-idle", capacity=100, connections=10)
    await rig.add(busy)
    await rig.add(idle)
    out = await rig.alloc.join(req(1, [busy, idle]))
    assert out.relay is not None
    assert out.relay.relay_id == "relay-idle"


async def test_live_assignment_wins_and_dead_relay_is_replaced(rig: Rig) -> None:
    a = relay("relay-a", capacity=100, connections=99)
    b = relay("relay-b", capacity=100, connections=0)
    await rig.add(a)
    first = await rig.alloc.join(req(1, [a]))
    await rig.add(b)
    second = await rig.alloc.join(req(2, [a, b]))
    assert second.room_id == first.room_id
    assert second.relay is not None
    assert second.relay.relay_id == "relay-a"
    await rig.kill("relay-a")
    third = await rig.alloc.join(req(3, [b]))
    assert third.room_id == first.room_id
    assert third.relay is not None
    assert third.relay.relay_id == "relay-b"
    room = await rig.alloc.room(first.room_id)
    assert room is not None
    assert room.relay_id == "relay-b"
    assert room.seats == 3
    [info] = [i for i in await rig.alloc.relays() if i.relay_id == "relay-b"]
    assert info.seats == 3


async def test_draining_relay_gets_no_new_room(rig: Rig) -> None:
    a = relay("relay-a")
    b = relay("relay-b", connections=500)
    await rig.add(a)
    await rig.add(b)
    await rig.alloc.mark_draining("relay-a")
    out = await rig.alloc.join(req(1, [a, b]))
    assert out.relay is not None
    assert out.relay.relay_id == "relay-b"
    assert {i.relay_id: i.drain_requested for i in await rig.alloc.relays()} == {
        "relay-a": True,
        "relay-b": False,
    }


async def test_unredeemed_reservation_expires(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    for n in range(3):
        await rig.alloc.join(req(n, [a]))
    later = NOW + RES + 1
    # A wanted room is purged on the spot.
    assert (await rig.alloc.join(req(5, [a], wanted="lobby.r0", now=NOW + 1))).status == "room_full"
    out = await rig.alloc.join(req(5, [a], wanted="lobby.r0", now=later))
    assert (out.status, out.seats) == ("ok", 1)
    assert await rig.alloc.user_room(user_id(0)) is None
    # Rooms believed full are found again once the sweeper has purged them.
    await rig.alloc.release_room("lobby.r0")
    for n in range(3):
        await rig.alloc.join(req(n, [a], now=later))
    even_later = later + RES + 1
    assert await rig.alloc.sweep(even_later) == 0
    out = await rig.alloc.join(req(7, [a], now=even_later))
    assert out.room_id == "lobby.r0"
    assert out.seats == 1
    assert (await rig.alloc.relays())[0].seats == 1


async def test_confirmed_seat_outlives_the_reservation(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    out = await rig.alloc.join(req(1, [a], cap=1))
    assert await rig.alloc.confirm_seat(out.room_id, user_id(1))
    late = NOW + 10 * RES
    assert (
        await rig.alloc.join(req(2, [a], cap=1, wanted=out.room_id, now=late))
    ).status == "room_full"
    assert await rig.alloc.release_seat(out.room_id, user_id(1), late)
    assert (await rig.alloc.join(req(2, [a], cap=1, wanted=out.room_id, now=late))).status == "ok"


async def test_sweep_releases_empty_rooms_after_grace(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    out = await rig.alloc.join(req(1, [a]))
    assert await rig.alloc.sweep(NOW + 1000) == 0
    expired = NOW + RES + 1
    assert await rig.alloc.sweep(expired) == 0  # empty now, grace starts
    assert await rig.alloc.room(out.room_id) is not None
    assert await rig.alloc.sweep(expired + 30_000) == 1
    assert await rig.alloc.room(out.room_id) is None
    assert (await rig.alloc.relays())[0].seats == 0


async def test_release_room(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    out = await rig.alloc.join(req(1, [a]))
    await rig.alloc.join(req(2, [a]))
    assert await rig.alloc.release_room(out.room_id) == "relay-a"
    assert await rig.alloc.release_room(out.room_id) == ""
    assert await rig.alloc.user_room(user_id(1)) is None
    assert (await rig.alloc.relays())[0].seats == 0


async def test_sweep_forgets_dead_relays(rig: Rig) -> None:
    a = relay("relay-a")
    b = relay("relay-b")
    await rig.add(a)
    await rig.add(b)
    await rig.alloc.mark_draining("relay-a")
    await rig.kill("relay-a")
    await rig.alloc.sweep(NOW)
    assert [r.relay_id for r in await rig.alloc.relays()] == ["relay-b"]
    if rig.r is not None and rig.keyspace is not None:
        assert await rig.r.smembers(rig.keyspace.relays) == {b"relay-b"}
        assert await rig.r.smembers(rig.keyspace.draining) == set()


async def test_rooms_filter_by_world_relay_and_members_in_id_order(rig: Rig) -> None:
    a, b = relay("relay-a"), relay("relay-b")
    await rig.add(a)
    await rig.add(b)
    # lobby.r1 (2 seats) and lobby.r3 (1) on relay-a; plaza.r4 (1) on relay-b.
    for n, cands, world, wanted in (
        (1, [a], "lobby", ""),
        (2, [a], "lobby", "lobby.r1"),
        (3, [a], "lobby", ""),
        (4, [b], "plaza", ""),
    ):
        out = await rig.alloc.join(req(n, cands, cap=2, world=world, wanted=wanted))
        assert out.status == "ok", (n, out)

    async def ids(limit: int = 10, **kw: Any) -> list[str]:
        return [r.room_id for r in await rig.alloc.rooms(kw.pop("world", None), limit, **kw)]

    assert await ids() == ["lobby.r1", "lobby.r3", "plaza.r4"]
    assert await ids(2) == ["lobby.r1", "lobby.r3"]
    assert await ids(after="lobby.r1") == ["lobby.r3", "plaza.r4"]
    assert await ids(world="lobby") == ["lobby.r1", "lobby.r3"]
    assert await ids(relay_id="relay-b") == ["plaza.r4"]
    assert await ids(relay_id="relay-c") == []
    assert await ids(min_seats=2) == ["lobby.r1"]
    assert await ids(max_seats=1) == ["lobby.r3", "plaza.r4"]
    assert await ids(1, world="lobby", max_seats=1) == ["lobby.r3"]


async def test_seats_show_reserved_and_confirmed(rig: Rig) -> None:
    a = relay("relay-a")
    await rig.add(a)
    await rig.alloc.join(req(2, [a], new_room="lobby.r1"))
    await rig.alloc.join(req(1, [a], wanted="lobby.r1"))
    assert await rig.alloc.confirm_seat("lobby.r1", user_id(2))
    seats = await rig.alloc.seats("lobby.r1")
    assert [(s.user_id, s.confirmed, s.expires_at_ms) for s in seats] == [
        (user_id(1), False, NOW + RES),
        (user_id(2), True, 0),
    ]
    assert await rig.alloc.seats("lobby.nope") == []


async def test_room_state_is_the_relay_snapshot(rig: Rig) -> None:
    assert await rig.alloc.room_state("lobby.r1") is None
    snap = RoomStateSnapshotT()
    snap.roomId, snap.worldId, snap.relayId, snap.roomLifetime = "lobby.r1", "lobby", "a", 2
    e = StateEntryT()
    e.key, e.version, e.value = "door", 3, [1, 2, 3]
    snap.entries = [e]
    b = flatbuffers.Builder(128)
    b.Finish(snap.Pack(b))  # type: ignore[func-returns-value]
    raw = bytes(b.Output())
    if rig.memory is not None:
        rig.memory.snapshots["lobby.r1"] = raw
    else:
        assert rig.r is not None
        assert rig.keyspace is not None
        await rig.r.set(rig.keyspace.room_snapshot("lobby.r1"), raw)
    got = await rig.alloc.room_state("lobby.r1")
    assert got is not None
    assert (got.room_lifetime, got.relay_id) == (2, "a")
    assert [(k.key, k.version, k.value_bytes) for k in got.keys] == [("door", 3, 3)]
