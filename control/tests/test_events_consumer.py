"""The event consumer against real Redis and FerretDB: RoomEvent bytes written
with the generated builder, as a relay writes them."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from plaza_control import codec
from plaza_control.clock import system_clock_ms
from plaza_control.container import Services
from plaza_control.events.consumer import EventConsumer
from plaza_control.keyspace import Keyspace
from plaza_control.models import (
    ChatMessage,
    EventBodyT,
    MemberJoined,
    MemberLeft,
    RoomClosed,
    RoomEvent,
)
from plaza_control.observability import GroupMetrics, Metrics
from plaza_control.repositories.base import JoinRequest
from plaza_control.settings import Settings

from .conftest import cleanup, make_settings
from .helpers import free_port, relay, user_id, write_heartbeat

CONFIRMED = 9007199254740991


class Rig:
    def __init__(self, settings: Settings, svc: Services) -> None:
        self.settings = settings
        self.svc = svc
        self.keyspace: Keyspace = svc.keyspace
        self.r: aioredis.Redis = svc.redis
        self._n = 0

    def consumer(self, name: str, **cfg: Any) -> EventConsumer:
        """A consumer of the control group (MongoDB records)."""
        return _configured(self.svc.records_consumer(name), cfg)

    def seat_consumer(self, name: str, **cfg: Any) -> EventConsumer:
        """A consumer of the seats group (Redis only)."""
        return _configured(self.svc.seat_consumer(name), cfg)

    def metrics(self, group: str = "control") -> GroupMetrics:
        return self.svc.metrics.events.group(group)

    def event(
        self,
        body: EventBodyT,
        *,
        room: str = "room-1",
        relay_id: str = "relay-a",
        event_id: str | None = None,
    ) -> RoomEvent:
        self._n += 1
        return RoomEvent(
            event_id=event_id or f"{relay_id}:boot1:{self._n}",
            relay_id=relay_id,
            room_id=room,
            world_id="lobby",
            occurred_at_ms=system_clock_ms(),
            body=body,
        )

    async def xadd(self, *events: RoomEvent) -> None:
        for e in events:
            await self.r.xadd(
                self.keyspace.events,
                {"e": codec.encode_room_event(e)},
                maxlen=1_000_000,
                approximate=True,
            )

    async def seat(self, room: str, n: int) -> float | None:
        score: float | None = await self.r.zscore(self.keyspace.room_seats(room), user_id(n))
        return score

    async def pending(self, group: str | None = None) -> int:
        info = await self.r.xpending(self.keyspace.events, group or self.settings.events_group)
        return int(info["pending"])


def _configured(c: EventConsumer, cfg: dict[str, Any]) -> EventConsumer:
    if cfg:
        c._cfg = msgspec.structs.replace(c._cfg, **cfg)
    return c


def _mongo_down(rig: Rig, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings sharing rig's Redis but pointing at a MongoDB nobody serves."""
    return make_settings(
        tmp_path,
        redis_prefix=rig.settings.redis_prefix,
        mongo_url=f"mongodb://127.0.0.1:{free_port()}/",
        mongo_timeout_ms=300,
        **overrides,
    )


async def _rig(settings: Settings) -> Services:
    svc = Services(settings, Metrics())
    await svc.start()
    return svc


@pytest.fixture
async def rig(settings: Settings) -> AsyncIterator[Rig]:
    svc = await _rig(settings)
    yield Rig(settings, svc)
    await svc.close()


async def _drain(c: EventConsumer) -> None:
    """Step until nothing is left: own pending list first, then new entries."""
    for _ in range(20):
        was_pending = c._pending
        if await c.step() == 0 and not was_pending:
            return


async def _join_one(rig: Rig, n: int, room: str) -> str:
    """Reserve a seat for user n in room on the one registered relay."""
    [info] = await rig.svc.allocator.relays()
    out = await rig.svc.allocator.join(
        JoinRequest(
            user_id=user_id(n),
            world_id="lobby",
            room_capacity=50,
            empty_grace_ms=30_000,
            wanted_room=room,
            new_room_id=room,
            now_ms=system_clock_ms(),
            reservation_ms=60_000,
            scan_limit=16,
            candidates=[info],
        )
    )
    assert out.status == "ok"
    return out.room_id


async def _place(rig: Rig, room: str, *users: int) -> None:
    await write_heartbeat(rig.r, rig.keyspace, relay("relay-a"))
    for n in users:
        await _join_one(rig, n, room)


async def test_joined_and_left_update_seats_and_sessions(rig: Rig) -> None:
    await _place(rig, "room-1", 1, 2)
    c = rig.consumer("c1", block_ms=50)
    seats = rig.seat_consumer("s1", block_ms=50)
    await rig.xadd(
        rig.event(
            MemberJoined(user_id=user_id(1), member_id=1, display_name="Ann", session_id="s1")
        ),
        rig.event(MemberJoined(user_id=user_id(2), member_id=2, session_id="s2")),
        # A late event of another relay changes nothing.
        rig.event(MemberJoined(user_id=user_id(3), session_id="s3"), relay_id="relay-z"),
    )
    await _drain(c)
    # The control group writes sessions only; seats wait for the seats group.
    assert await rig.seat("room-1", 1) != CONFIRMED
    await _drain(seats)
    assert await rig.seat("room-1", 1) == CONFIRMED
    assert await rig.seat("room-1", 2) == CONFIRMED
    assert await rig.seat("room-1", 3) is None
    await rig.xadd(
        rig.event(
            MemberLeft(
                user_id=user_id(1), member_id=1, session_id="s1", reason="drained", duration_ms=1500
            )
        ),
    )
    await _drain(c)
    await _drain(seats)
    assert await rig.seat("room-1", 1) is None
    assert await rig.seat("room-1", 2) == CONFIRMED
    db = rig.svc.db
    s1 = await db.sessions.find_one({"_id": "s1"})
    assert s1 is not None
    assert s1["status"] == "completed"
    assert s1["leave_reason"] == "drained"
    assert s1["duration_ms"] == 1500
    assert s1["display_name"] == "Ann"
    assert s1["left_at_ms"] >= s1["joined_at_ms"]  # type: ignore[operator]
    s2 = await db.sessions.find_one({"_id": "s2"})
    assert s2 is not None
    assert s2["status"] == "active"
    # A join delivered after its leave (claimed late) does not confirm the seat;
    # the leave of another session of user 2 leaves the seat of s2 alone.
    await _place(rig, "room-1", 4)
    await rig.xadd(
        rig.event(MemberLeft(user_id=user_id(2), session_id="s2b", duration_ms=10)),
        rig.event(MemberJoined(user_id=user_id(2), session_id="s2b")),
        rig.event(MemberLeft(user_id=user_id(4), session_id="s4", duration_ms=10)),
        rig.event(MemberJoined(user_id=user_id(4), session_id="s4")),
    )
    await _drain(c)
    await _drain(seats)
    assert await rig.seat("room-1", 2) == CONFIRMED
    assert await rig.seat("room-1", 4) is None
    assert await rig.pending() == 0
    assert await rig.pending(rig.settings.events_seats_group) == 0
    for group in ("control", "seats"):
        assert rig.metrics(group).consumed.labels("member_joined")._value.get() == 5
    assert rig.metrics("seats").stale.labels("member_joined")._value.get() == 3
    assert rig.metrics("control").stale.labels("member_joined")._value.get() == 0


async def test_room_closed_releases_the_room(rig: Rig) -> None:
    await _place(rig, "room-9", 1)
    c = rig.seat_consumer("c1", block_ms=50)
    await rig.xadd(
        rig.event(RoomClosed(reason="x", last_sequence=3), room="room-9", relay_id="b"),
    )
    await _drain(c)
    assert await rig.svc.allocator.room("room-9") is not None
    await rig.xadd(rig.event(RoomClosed(reason="closed", last_sequence=3), room="room-9"))
    await _drain(c)
    assert await rig.svc.allocator.room("room-9") is None
    assert await rig.svc.allocator.user_room(user_id(1)) is None


async def test_chat_exactly_once_across_redelivery_and_a_crash_mid_batch(rig: Rig) -> None:
    lines = [
        rig.event(ChatMessage(sequence=i, user_id=user_id(1), display_name="Ann", text=f"line {i}"))
        for i in range(1, 41)
    ]
    await rig.xadd(*lines)
    await rig.xadd(lines[3], lines[7])  # the relay retried two XADDs: same event ids
    # Consumer 1 reads a batch, writes part of it and "crashes" before XACK.
    crashed = rig.consumer("crashed", batch=16, block_ms=50)
    await crashed._stream.ensure_group()
    entries = await crashed._stream.read(16, 50, pending=False)
    assert len(entries) == 16
    partial = [codec.decode_room_event(f[b"e"]) for _, f in entries[:9]]
    await crashed._handler.apply(partial)
    # Consumer 2 takes over the idle entries, then reads the rest.
    survivor = rig.consumer("survivor", batch=16, block_ms=50, claim_idle_ms=200)
    await asyncio.sleep(0.3)
    assert await survivor.claim() == 16
    await _drain(survivor)
    assert await rig.pending() == 0
    docs: list[dict[str, Any]] = [d async for d in rig.svc.db.chat.find({"room_id": "room-1"})]
    assert sorted(d["sequence"] for d in docs) == list(range(1, 41))
    assert {d["_id"] for d in docs} == {e.event_id for e in lines}
    assert docs[0]["user_id"] == user_id(1)
    assert docs[0]["display_name"] == "Ann"
    assert docs[0]["world_id"] == "lobby"
    assert rig.metrics().claimed._value.get() == 16
    await survivor.report()
    assert rig.metrics().pending._value.get() == 0
    assert rig.metrics().lag._value.get() == 0
    # A restarted consumer (same group) resumes where the group stands: nothing new.
    again = rig.consumer("restarted", block_ms=50)
    assert await again.step() == 0
    assert await again.step() == 0


async def test_undecodable_entries_are_dead_lettered_and_acked(rig: Rig) -> None:

    hb = codec.encode_heartbeat(relay("relay-a"))
    good = rig.event(ChatMessage(sequence=1, user_id=user_id(1), text="ok"))
    await rig.r.xadd(rig.keyspace.events, {"e": b"\x00junk"})
    await rig.r.xadd(rig.keyspace.events, {"x.y": b"no e field"})
    await rig.r.xadd(rig.keyspace.events, {"e": hb})  # wrong identifier (PLZH)
    await rig.r.xadd(rig.keyspace.events, {"e": codec.encode_room_event(good)[:14]})  # truncated
    await rig.xadd(good)
    c = rig.consumer("c1", block_ms=50)
    await _drain(c)
    dead = [d async for d in rig.svc.db.dead_letters.find({})]
    assert len(dead) == 4
    assert {d["stream"] for d in dead} == {rig.keyspace.events}
    assert await rig.svc.db.chat.count_documents({}) == 1
    assert await rig.pending() == 0
    assert rig.metrics().dead_letters._value.get() == 4


async def test_mongodb_down_stops_acking_and_a_later_consumer_applies(
    rig: Rig, tmp_path: Path
) -> None:
    svc = await _rig(_mongo_down(rig, tmp_path))
    try:
        c = svc.records_consumer("no-mongo")
        await rig.xadd(rig.event(ChatMessage(sequence=1, user_id=user_id(1), text="hi")))
        assert await c.step() == 0  # its own pending list: empty
        with pytest.raises(PyMongoError):
            await c.step()
        assert await rig.pending() == 1
    finally:
        await svc.close()
    ok = rig.consumer("ok", claim_idle_ms=100, block_ms=50)
    await asyncio.sleep(0.2)
    assert await ok.claim() == 1
    assert await rig.svc.db.chat.count_documents({}) == 1
    assert await rig.pending() == 0


async def _until(check: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.1)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_consumer_survives_a_redis_restart(tmp_path: Path) -> None:
    port = free_port()
    cmd = [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)  # noqa: ASYNC220
    settings = make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0", events_block_ms=200)
    r = aioredis.Redis.from_url(settings.redis_url)
    m: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    chat = m[settings.mongo_db].chat
    svc = await _rig(settings)
    keyspace = Keyspace(settings.redis_prefix)

    async def say(seq: int) -> None:
        e = RoomEvent(
            event_id=f"a:1:{seq}",
            relay_id="relay-a",
            room_id="room-1",
            world_id="lobby",
            occurred_at_ms=system_clock_ms(),
            body=ChatMessage(sequence=seq, user_id=user_id(1), text="x"),
        )
        await r.xadd(keyspace.events, {"e": codec.encode_room_event(e)})

    task: asyncio.Task[None] | None = None
    try:
        await _until(lambda: r.ping())
        task = asyncio.create_task(svc.records_consumer("survivor").run())
        await say(1)
        await _until(lambda: _has(chat, 1))
        proc.terminate()
        proc.wait(timeout=10)
        await asyncio.sleep(0.5)  # the consumer fails and backs off
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)  # noqa: ASYNC220
        await _until(lambda: _ping(r))
        await say(2)  # a fresh Redis: no stream, no group until someone creates them
        await _until(lambda: _has(chat, 2), within=30)
        assert not task.done()
        assert svc.metrics.events.group("control").errors.labels("redis")._value.get() >= 1
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await svc.close()
        await r.aclose()
        await m.close()
        await cleanup(settings)
        proc.terminate()
        proc.wait(timeout=10)


async def _has(chat: Any, seq: int) -> bool:
    return bool(await chat.count_documents({"sequence": seq}) == 1)


async def _ping(r: aioredis.Redis) -> bool:
    try:
        return bool(await r.ping())
    except aioredis.ConnectionError:
        return False
