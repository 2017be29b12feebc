"""Relay choice, one table run twice: against ``placement.pick_relay`` (the
specification, also used by the in-memory allocator) and against
``pick_relay`` in join.lua on real Redis. A row that passes one and fails the
other is drift between the Python rule and the Lua.

join.lua is driven so that its choice is pick_relay's alone: a fresh key
space, a world with no rooms and a user with no seat, so the script creates a
room on whatever pick_relay returns (or answers NO_RELAY when it returns nil).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from msgspec.structs import replace

from plaza_control import placement
from plaza_control.keyspace import Keyspace
from plaza_control.models import RelayInfo
from plaza_control.repositories.redis import RedisScripts
from plaza_control.settings import Settings

from .helpers import relay


@dataclass(frozen=True)
class Offer:
    relay_id: str
    capacity: int = 100
    connections: int = 0


@dataclass(frozen=True)
class Case:
    description: str
    offered: list[Offer]
    want: str | None
    #: Relays with a heartbeat key; None: every offered relay.
    live: set[str] | None = None
    draining: set[str] = field(default_factory=set)
    #: The allocator's seat counters (``A relay_seats``).
    seats: dict[str, int] = field(default_factory=dict)


CASES = [
    Case("no candidates: no relay", [], None),
    Case(
        "the least loaded wins",
        [Offer("busy", connections=90), Offer("idle", connections=10)],
        "idle",
    ),
    Case(
        "load is relative to capacity, not a count",
        [Offer("big", capacity=1000, connections=500), Offer("small", capacity=40, connections=30)],
        "big",
    ),
    Case(
        "seats reserved since the last heartbeat count when above its connections",
        [Offer("a", connections=10), Offer("b", connections=50)],
        "b",
        seats={"a": 80},
    ),
    Case(
        "reported connections count when above the seats",
        [Offer("a", connections=80), Offer("b", connections=50)],
        "b",
        seats={"a": 10, "b": 20},
    ),
    Case(
        "a relay whose heartbeat expired is skipped",
        [Offer("gone"), Offer("here", connections=99)],
        "here",
        live={"here"},
    ),
    Case(
        "a relay marked draining is skipped",
        [Offer("draining"), Offer("ok", connections=90)],
        "ok",
        draining={"draining"},
    ),
    Case(
        "a full relay is skipped; one free connection is enough",
        [Offer("full", connections=100), Offer("last-seat", connections=99)],
        "last-seat",
    ),
    Case(
        "seats can fill a relay its heartbeat calls empty",
        [Offer("a"), Offer("b", connections=70)],
        "b",
        seats={"a": 100},
    ),
    Case(
        "every relay full: no relay",
        [Offer("a", capacity=2, connections=2), Offer("b", capacity=3)],
        None,
        seats={"b": 3},
    ),
    Case("capacity 0 is never chosen", [Offer("zero", capacity=0)], None),
    Case(
        "equal load: the first offered wins",
        [Offer("first", connections=10), Offer("second", connections=10)],
        "first",
    ),
    Case(
        "equal load, other order: the first offered still wins",
        [Offer("second", connections=10), Offer("first", connections=10)],
        "second",
    ),
    Case(
        "equal load across capacities",
        [Offer("x", capacity=200, connections=50), Offer("y", capacity=100, connections=25)],
        "x",
    ),
    Case(
        "nothing live, nothing chosen",
        [Offer("a"), Offer("b")],
        None,
        live=set(),
    ),
]


def _infos(case: Case) -> list[RelayInfo]:
    return [relay(o.relay_id, capacity=o.capacity, connections=o.connections) for o in case.offered]


def _live(case: Case) -> set[str]:
    return {o.relay_id for o in case.offered} if case.live is None else case.live


@pytest.mark.parametrize("case", CASES, ids=[c.description for c in CASES])
def test_pick_relay_specification(case: Case) -> None:
    got = placement.pick_relay(
        _infos(case), live=_live(case), draining=case.draining, seats=case.seats
    )
    assert got == case.want, case.description


async def _lua_pick(r: aioredis.Redis, keyspace: Keyspace, case: Case) -> str | None:
    pipe = r.pipeline(transaction=False)
    for relay_id in _live(case):
        pipe.set(keyspace.relay_hb(relay_id), b"heartbeat bytes are not read here")
    for relay_id in case.draining:
        pipe.sadd(keyspace.draining, relay_id)
    for relay_id, n in case.seats.items():
        pipe.hset(keyspace.relay_seats, relay_id, n)
    await pipe.execute()
    args: list[Any] = [
        keyspace.alloc,
        1_800_000_000_000,  # now_ms
        60_000,  # reservation_ms
        "placement-world",
        10,  # room_capacity
        "u_placement",
        "",  # wanted_room: any
        "placement-world.new",
        16,  # scan_limit
        30_000,  # empty_grace_ms
        len(case.offered),
    ]
    for o in case.offered:
        args.extend((o.relay_id, o.capacity, o.connections))
    res = await RedisScripts(r)["join"](keys=[keyspace.relays], args=args)
    status = res[0].decode()
    if status == "NO_RELAY":
        return None
    assert status == "OK", status
    assert res[5] == 1, "join.lua must have created the room (its choice is pick_relay's)"
    chosen: str = res[2].decode()
    return chosen


async def test_join_lua_pick_relay_follows_the_specification(settings: Settings) -> None:
    """Every row on its own key space, so no row sees another's counters."""
    r = aioredis.Redis.from_url(settings.redis_url)
    try:
        failures = []
        for i, case in enumerate(CASES):
            keyspace = Keyspace(f"{settings.redis_prefix}row{i}:")
            got = await _lua_pick(r, keyspace, case)
            spec = placement.pick_relay(
                _infos(case), live=_live(case), draining=case.draining, seats=case.seats
            )
            if got != case.want or got != spec:
                failures.append(f"{case.description}: lua {got!r}, python {spec!r}")
        assert not failures, failures
    finally:
        await r.aclose()


def test_candidates_filter_uses_the_same_free_connection_rule() -> None:
    """The pre-filter of the join service refuses exactly the relays pick_relay
    would refuse for want of a connection, judged on the heartbeat's seats."""
    rows = [
        ("room left", relay("a", capacity=10, connections=9), True),
        ("full by connections", relay("b", capacity=10, connections=10), False),
        ("full by seats", replace(relay("c", capacity=10), seats=10), False),
        ("capacity 0", relay("d", capacity=0), False),
        ("not ready", relay("e", state="starting"), False),
        ("drain requested", replace(relay("f"), drain_requested=True), False),
    ]
    for description, info, allowed in rows:
        got = placement.candidates([info], None) == [info]
        assert got is allowed, description
        if info.state == "ready" and not info.drain_requested:
            assert allowed == placement.has_free_connection(
                info.capacity_connections, info.connections, info.seats
            ), description
