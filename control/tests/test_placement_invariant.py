"""The placement invariant (docs/redis.md, "The placement invariant";
decisions/009): one room lifetime is hosted by at most one relay at a time, and
no closed lifetime is ever re-opened.

A property test over interleavings of joins, stale and repeated ticket
redemptions, operator closes (whose command may be lost or late), relays that
close rooms, relay heartbeats that expire and come back, relay restarts (a new
boot id), drains, the sweeper, and relay events applied late or twice. Relays are
modelled by what decisions/009 asks of them: a relay admits a ticket only if
``HMGET A room:<room> relay lifetime`` is (itself, the ticket's ``rlt``) at that
moment (else 4104), closes its copy of a room when a newer lifetime of it
arrives, and re-checks every open room's allocation (closing copies the
allocation no longer names). Every sequence runs on the memory model and on the
real Lua scripts on Redis; both must satisfy the invariant and answer every step
alike.

Checked after every step:

- the allocation of a room names one (relay, lifetime); a room's lifetime
  numbers only grow, and a lifetime that ended (released, or replaced) is never
  named again, so no ticket of it is ever admitted again;
- an admission happens only into the lifetime the allocation names;
- an event about another lifetime (or another relay) than the room's current one
  changes nothing in the allocation.

And at the end, once every relay has re-checked its rooms and every event has
been applied: each room is open on at most one relay, in the allocated lifetime.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from plaza_control import placement
from plaza_control.events.contracts import EventSeats
from plaza_control.events.redis import RedisEventSeats
from plaza_control.keyspace import Keyspace
from plaza_control.models import RelayInfo
from plaza_control.repositories.base import Allocator, JoinRequest
from plaza_control.repositories.redis import RedisAllocator, RedisScripts

from .helpers import relay, user_id, write_heartbeat
from .memory import MemoryAllocator, MemoryEventSeats

REDIS_URL = os.environ.get("PLAZA_REDIS_URL", "redis://127.0.0.1:16379/0")
NOW = 1_800_000_000_000
RELAYS = ("relay-a", "relay-b")
ROOMS = ("hall", "den")
USERS = 3
Op = tuple[str, int, int]
ARG = st.integers(0, 7)


class Backend(Protocol):
    alloc: Allocator
    seats: EventSeats

    async def heartbeat(self, info: RelayInfo) -> None: ...
    async def expire(self, relay_id: str) -> None: ...
    async def assigned(self, room_id: str) -> tuple[str, int] | None:
        """What a relay reads: ``HMGET A room:<room> relay lifetime``."""
        ...

    async def close(self) -> None: ...


class MemoryBackend:
    def __init__(self) -> None:
        self.memory = MemoryAllocator()
        self.alloc: Allocator = self.memory
        self.seats: EventSeats = MemoryEventSeats(self.memory, ended_ttl_ms=600_000)

    async def heartbeat(self, info: RelayInfo) -> None:
        self.memory.heartbeats[info.relay_id] = info

    async def expire(self, relay_id: str) -> None:
        self.memory.heartbeats.pop(relay_id, None)

    async def assigned(self, room_id: str) -> tuple[str, int] | None:
        room = self.memory.room_map.get(room_id)
        return None if room is None else (room.relay, room.lifetime)

    async def close(self) -> None:
        return None


class RedisBackend:
    def __init__(self) -> None:
        self.r = aioredis.Redis.from_url(REDIS_URL)
        self.keyspace = Keyspace(f"tinv{secrets.token_hex(4)}:")
        scripts = RedisScripts(self.r)
        self.alloc: Allocator = RedisAllocator(self.r, self.keyspace, scripts)
        self.seats: EventSeats = RedisEventSeats(
            self.r, self.keyspace, scripts, ended_ttl_ms=600_000
        )

    async def heartbeat(self, info: RelayInfo) -> None:
        await write_heartbeat(self.r, self.keyspace, info, ttl_ms=3_600_000)

    async def expire(self, relay_id: str) -> None:
        await self.r.delete(self.keyspace.relay_hb(relay_id))

    async def assigned(self, room_id: str) -> tuple[str, int] | None:
        relay_id, lifetime = await self.r.hmget(self.keyspace.room(room_id), ["relay", "lifetime"])
        if relay_id is None:
            return None
        relay_name = relay_id.decode() if isinstance(relay_id, bytes) else str(relay_id)
        return relay_name, int(lifetime or 0)

    async def close(self) -> None:
        keys = [k async for k in self.r.scan_iter(f"{self.keyspace.prefix}*", count=1000)]
        if keys:
            await self.r.delete(*keys)
        await self.r.aclose()


@dataclass
class Event:
    kind: str  # joined | left | closed
    relay_id: str
    room_id: str
    lifetime: int
    user: str = ""
    session: str = ""


@dataclass
class Ticket:
    user: str
    room_id: str
    relay_id: str
    lifetime: int
    used: bool = False


@dataclass
class Proc:
    """One relay process, as decisions/009 asks it to behave."""

    relay_id: str
    boot: int = 1
    beating: bool = True
    draining: bool = False
    #: room -> lifetime of the copy open here
    rooms: dict[str, int] = field(default_factory=dict)
    #: room -> user -> session id
    members: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def boot_id(self) -> str:
        return f"{self.boot:016x}"

    def info(self) -> RelayInfo:
        r = relay(self.relay_id, boot=self.boot_id, state="draining" if self.draining else "ready")
        return msgspec.structs.replace(r, sent_at_ms=0, started_at_ms=0)


class Sim:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        self.now = NOW
        self.procs = {r: Proc(r) for r in RELAYS}
        self.tickets: list[Ticket] = []
        self.commands: list[tuple[str, str, bool]] = []  # (relay, room, delivered)
        self.events: list[Event] = []
        self.applied = 0
        self.sessions = 0
        self.new_rooms = 0
        #: Per room: the allocation last seen, the lifetimes that ended, the largest seen.
        self.seen: dict[str, tuple[str, int] | None] = {}
        self.ended: dict[str, set[int]] = {}
        self.largest: dict[str, int] = {}
        self.trace: list[Any] = []

    def rooms(self) -> list[str]:
        return [*ROOMS, *(f"lobby.n{i}" for i in range(self.new_rooms))]

    async def start(self) -> None:
        for p in self.procs.values():
            await self.b.heartbeat(p.info())

    # What a relay does.
    def _emit(self, kind: str, p: Proc, room_id: str, user: str = "", session: str = "") -> None:
        self.events.append(Event(kind, p.relay_id, room_id, p.rooms[room_id], user, session))

    def _close_copy(self, p: Proc, room_id: str) -> None:
        for user, session in sorted(p.members.get(room_id, {}).items()):
            self._emit("left", p, room_id, user, session)
        self._emit("closed", p, room_id)
        p.rooms.pop(room_id)
        p.members.pop(room_id, None)

    async def _check(self, p: Proc) -> None:
        """The relay's periodic assignment check (--assignment-check-interval)."""
        for room_id in sorted(p.rooms):
            if await self.b.assigned(room_id) != (p.relay_id, p.rooms[room_id]):
                self._close_copy(p, room_id)

    async def _redeem(self, t: Ticket) -> str:
        if t.used:
            return "4003"  # single use, across restarts (P ticket_used)
        t.used = True
        p = self.procs[t.relay_id]
        if await self.b.assigned(t.room_id) != (t.relay_id, t.lifetime):
            return "4104"
        # Admitted into the lifetime the allocation names now: it never ended.
        assert t.lifetime not in self.ended.get(t.room_id, set()), "closed lifetime re-opened"
        cur = p.rooms.get(t.room_id)
        assert cur is None or cur <= t.lifetime, "allocation went back to an older lifetime"
        if cur is not None and cur < t.lifetime:
            self._close_copy(p, t.room_id)
            cur = None
        if cur is None:
            if p.draining:
                return "draining"
            p.rooms[t.room_id] = t.lifetime
            p.members[t.room_id] = {}
        members = p.members[t.room_id]
        if t.user in members:
            self._emit("left", p, t.room_id, t.user, members.pop(t.user))
        self.sessions += 1
        members[t.user] = f"s{self.sessions}"
        self._emit("joined", p, t.room_id, t.user, members[t.user])
        return "welcome"

    # What the control plane's seats group does, with the guard checked.
    async def _apply(self, e: Event) -> Any:
        cur = await self.b.assigned(e.room_id)
        other = cur is not None and (cur[0] != e.relay_id or cur[1] != e.lifetime)
        before = await self.b.alloc.room(e.room_id)
        if e.kind == "joined":
            got: Any = await self.b.seats.confirm(
                e.room_id, e.user, e.relay_id, e.session, e.lifetime
            )
        elif e.kind == "left":
            got = await self.b.seats.release(
                e.room_id, e.user, e.relay_id, self.now, e.session, e.lifetime
            )
        else:
            got = await self.b.seats.release_room(e.room_id, e.relay_id, e.lifetime)
        if other:
            after = await self.b.alloc.room(e.room_id)
            assert after == before, f"an event of another lifetime or relay changed {e}"
        return got

    async def step(self, op: Op) -> Any:
        kind, a, b = op
        p = self.procs[RELAYS[a % len(RELAYS)]]
        if kind == "join":
            candidates = placement.candidates(await self.b.alloc.relays(), None)
            # Mostly "hall", so lifetimes of one room id follow each other.
            wanted = ("hall", "hall", "den", "")[b % 4]
            out = await self.b.alloc.join(
                JoinRequest(
                    user_id=user_id(a % USERS),
                    world_id="lobby",
                    room_capacity=3,
                    empty_grace_ms=30_000,
                    wanted_room=wanted,
                    new_room_id=f"lobby.n{self.new_rooms}",
                    now_ms=self.now,
                    reservation_ms=60_000,
                    scan_limit=16,
                    candidates=candidates,
                )
            )
            if out.status != "ok" or out.relay is None:
                return out.status
            if out.room_id == f"lobby.n{self.new_rooms}":
                self.new_rooms += 1
            self.tickets.append(
                Ticket(user_id(a % USERS), out.room_id, out.relay.relay_id, out.room_lifetime)
            )
            return (out.room_id, out.relay.relay_id, out.room_lifetime, out.seats, out.created)
        if kind == "redeem":
            if not self.tickets:
                return None
            # Mostly one of the last two tickets (a client connecting), else any
            # (a stale ticket, kept and tried late).
            n = len(self.tickets)
            i = n - 1 - b % min(2, n) if a < 6 else (a * 8 + b) % n
            return await self._redeem(self.tickets[i])
        if kind == "leave":
            pairs = [(r, u) for r in sorted(p.members) for u in sorted(p.members[r])]
            if not pairs:
                return None
            room_id, user = pairs[b % len(pairs)]
            self._emit("left", p, room_id, user, p.members[room_id].pop(user))
            return (room_id, user)
        if kind == "relay_close_empty":
            empty = [r for r in sorted(p.rooms) if not p.members.get(r)]
            for room_id in empty:
                self._close_copy(p, room_id)
            return empty
        if kind == "close":
            open_rooms = await self.b.alloc.rooms(None, 100)
            if not open_rooms:
                return None
            info = open_rooms[b % len(open_rooms)]
            room_id = info.room_id
            # OpsService.close_room: command to the relay, then release.
            self.commands.append((info.relay_id, room_id, False))
            return await self.b.alloc.release_room(room_id)
        if kind == "deliver":
            if not self.commands:
                return None
            i = (a * 8 + b) % len(self.commands)
            relay_id, room_id, delivered = self.commands[i]
            if delivered:
                return None  # at most once
            self.commands[i] = (relay_id, room_id, True)
            target = self.procs[relay_id]
            if room_id in target.rooms:
                self._close_copy(target, room_id)
                return True
            return False
        if kind == "check":
            await self._check(p)
            return sorted(p.rooms.items())
        if kind == "expire":
            p.beating = False
            await self.b.expire(p.relay_id)
            return None
        if kind == "beat":
            p.beating = True
            await self.b.heartbeat(p.info())
            return None
        if kind == "restart":
            # kill -9 and start again under the same id: nothing is reported.
            p.boot += 1
            p.rooms.clear()
            p.members.clear()
            p.draining = False
            p.beating = True
            await self.b.heartbeat(p.info())
            return p.boot
        if kind == "drain":
            live = {r.relay_id: r for r in await self.b.alloc.relays()}
            if p.relay_id not in live:
                return None
            await self.b.alloc.mark_draining(p.relay_id, live[p.relay_id].boot_id)
            p.draining = True  # the drain command arrives (it may not: restart)
            if p.beating:
                await self.b.heartbeat(p.info())
            return True
        if kind == "sweep":
            return await self.b.alloc.sweep(self.now)
        if kind == "apply":
            if self.applied >= len(self.events):
                return None
            self.applied += 1
            return await self._apply(self.events[self.applied - 1])
        if kind == "redeliver":
            if self.applied == 0:
                return None
            return await self._apply(self.events[(a * 8 + b) % self.applied])
        assert kind == "tick"
        self.now += 10_000 * (1 + a % 4)
        return self.now

    async def observe(self) -> None:
        for room_id in self.rooms():
            cur = await self.b.assigned(room_id)
            prev = self.seen.get(room_id)
            ended = self.ended.setdefault(room_id, set())
            if prev is not None and (cur is None or cur[1] != prev[1]):
                ended.add(prev[1])
            if cur is not None:
                assert cur[1] >= 1, f"{room_id} allocated without a lifetime"
                assert cur[1] not in ended, f"{room_id}: ended lifetime {cur[1]} named again"
                assert cur[1] >= self.largest.get(room_id, 0), f"{room_id}: lifetime went back"
                if prev is not None and cur[1] != prev[1]:
                    assert cur[1] > prev[1]
                self.largest[room_id] = cur[1]
            self.seen[room_id] = cur

    async def settle(self) -> None:
        """Every relay re-checks, every event is applied, twice over."""
        for _ in range(2):
            while self.applied < len(self.events):
                self.applied += 1
                self.trace.append(await self._apply(self.events[self.applied - 1]))
                await self.observe()
            for p in self.procs.values():
                await self._check(p)
            await self.observe()
        for room_id in self.rooms():
            copies = [
                (p.relay_id, p.rooms[room_id]) for p in self.procs.values() if room_id in p.rooms
            ]
            assert len(copies) <= 1, f"{room_id} is open on several relays: {copies}"
            if copies:
                assert await self.b.assigned(room_id) == copies[0]

    async def run(self, ops: list[Op]) -> list[Any]:
        await self.start()
        for op in ops:
            self.trace.append((op, await self.step(op)))
            await self.observe()
        await self.settle()
        return self.trace


class PlacementMachine(RuleBasedStateMachine):
    """Hypothesis drives both simulations in lockstep, one step of each per rule;
    their answers must be equal at every step, and each checks the invariant."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.sims = [Sim(MemoryBackend()), Sim(RedisBackend())]
        for sim in self.sims:
            self.loop.run_until_complete(sim.start())

    def _step(self, kind: str, a: int, b: int) -> None:
        async def one(sim: Sim) -> Any:
            out = await sim.step((kind, a, b))
            await sim.observe()
            return out

        memory_out, redis_out = (self.loop.run_until_complete(one(s)) for s in self.sims)
        assert memory_out == redis_out, f"{kind}: memory model {memory_out} != Lua {redis_out}"

    @rule(a=ARG, b=ARG)
    def join(self, a: int, b: int) -> None:
        self._step("join", a, b)

    @rule(a=ARG, b=ARG)
    def join_again(self, a: int, b: int) -> None:
        self._step("join", a, b)

    @rule(a=ARG, b=ARG)
    def redeem(self, a: int, b: int) -> None:
        self._step("redeem", a, b)

    @rule(a=ARG, b=ARG)
    def redeem_again(self, a: int, b: int) -> None:
        self._step("redeem", a, b)

    @rule(a=ARG, b=ARG)
    def leave(self, a: int, b: int) -> None:
        self._step("leave", a, b)

    @rule(a=ARG)
    def relay_closes_empty_rooms(self, a: int) -> None:
        self._step("relay_close_empty", a, 0)

    @rule(b=ARG)
    def operator_closes(self, b: int) -> None:
        self._step("close", 0, b)

    @rule(a=ARG, b=ARG)
    def close_command_arrives(self, a: int, b: int) -> None:
        self._step("deliver", a, b)

    @rule(a=ARG)
    def relay_checks_assignments(self, a: int) -> None:
        self._step("check", a, 0)

    @rule(a=ARG)
    def heartbeat_expires(self, a: int) -> None:
        self._step("expire", a, 0)

    @rule(a=ARG)
    def heartbeat_returns(self, a: int) -> None:
        self._step("beat", a, 0)

    @rule(a=ARG)
    def relay_restarts(self, a: int) -> None:
        self._step("restart", a, 0)

    @rule(a=ARG)
    def operator_drains(self, a: int) -> None:
        self._step("drain", a, 0)

    @rule()
    def sweep(self) -> None:
        self._step("sweep", 0, 0)

    @rule()
    def event_applied(self) -> None:
        self._step("apply", 0, 0)

    @rule(a=ARG, b=ARG)
    def event_redelivered(self, a: int, b: int) -> None:
        self._step("redeliver", a, b)

    @rule(a=ARG)
    def time_passes(self, a: int) -> None:
        self._step("tick", a, 0)

    def teardown(self) -> None:
        try:
            settled = []
            for sim in self.sims:
                start = len(sim.trace)
                self.loop.run_until_complete(sim.settle())
                settled.append(sim.trace[start:])
            assert settled[0] == settled[1], "memory model and Lua settle differently"
        finally:
            for sim in self.sims:
                self.loop.run_until_complete(sim.b.close())
            self.loop.close()


PlacementMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("PLAZA_INVARIANT_EXAMPLES", "150")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_one_lifetime_on_one_relay_and_no_closed_lifetime_reopens = PlacementMachine.TestCase

#: Sequences worth running every time, whatever Hypothesis draws.
STORIES: dict[str, list[Op]] = {
    # Issue 12, defect 1: an operator closes the room, a ticket minted before
    # the close is redeemed, the next joiner is placed; events arrive late.
    "close-then-stale-ticket": [
        ("join", 0, 0),
        ("redeem", 0, 0),
        ("join", 1, 0),
        ("close", 0, 0),
        ("redeem", 0, 1),
        ("restart", 1, 0),
        ("join", 2, 0),
        ("redeem", 0, 2),
        ("apply", 0, 0),
        ("apply", 0, 0),
        ("redeliver", 0, 0),
    ],
    # The join event of a closed lifetime is applied after the next lifetime began.
    "late-join-event": [("join", 0, 2), ("redeem", 0, 0), ("close", 0, 1), ("join", 1, 2)],
    # A relay that loses its heartbeat keeps its copy while the room moves.
    "failover": [
        ("join", 0, 0),
        ("redeem", 0, 0),
        ("expire", 0, 0),
        ("join", 1, 0),
        ("redeem", 0, 1),
        ("beat", 0, 0),
        ("join", 2, 0),
        ("redeem", 0, 2),
        ("check", 0, 0),
        ("apply", 0, 0),
    ],
}


async def _both(ops: list[Op]) -> None:
    traces = []
    for make in (MemoryBackend, RedisBackend):
        backend: Backend = make()
        try:
            traces.append(await Sim(backend).run(ops))
        finally:
            await backend.close()
    memory_trace, redis_trace = traces
    for i, (m, r) in enumerate(zip(memory_trace, redis_trace, strict=True)):
        assert m == r, f"step {i}: memory model {m} != Lua {r}"


@pytest.mark.parametrize("story", sorted(STORIES))
def test_stories_keep_the_invariant(story: str) -> None:
    asyncio.run(_both(STORIES[story]))


def test_a_stale_ticket_after_a_close_is_refused_and_the_next_joiner_gets_a_new_lifetime() -> None:
    """The deterministic core of issue 12, defect 1, on both implementations."""

    async def run(backend: Backend) -> list[Any]:
        try:
            sim = Sim(backend)
            await sim.start()
            out = [await sim.step(("join", 0, 0)), await sim.step(("join", 1, 0))]
            out.append(await sim.step(("redeem", 0, 0)))  # user 0 is in
            out.append(await sim.step(("close", 0, 0)))  # the operator closes hall
            out.append(await sim.step(("redeem", 0, 1)))  # user 1's ticket is stale
            out.append(await sim.step(("join", 2, 0)))
            out.append(await sim.step(("redeem", 0, 2)))
            return out
        finally:
            await backend.close()

    for make in (MemoryBackend, RedisBackend):
        got = asyncio.run(run(make()))
        assert got[0][:3] == ("hall", "relay-a", 1)
        assert got[2:5] == ["welcome", "relay-a", "4104"]
        assert got[5][:3] == ("hall", "relay-a", 2)
        assert got[6] == "welcome"
