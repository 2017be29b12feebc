"""Resume after a relay dies or drains: the allocation rules (memory reference and
the real join.lua), seat scripts guarded by the reporting relay, the ticket's
``sid`` claim, and join pacing."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from plaza_control.container import Services
from plaza_control.errors import Unavailable
from plaza_control.events.handlers import mirror_relay_drains
from plaza_control.events.redis import RedisEventSeats
from plaza_control.keyspace import Keyspace
from plaza_control.models import Role
from plaza_control.observability import Metrics
from plaza_control.repositories.redis import RedisAllocator, RedisScripts
from plaza_control.services.pacing import JoinPacer
from plaza_control.settings import Settings

from .helpers import make_api_key, relay, session_token, user_id, write_heartbeat
from .test_allocator import NOW, RES, Rig, req, rig

__all__ = ["rig"]


async def _confirm(r: Rig, room: str, n: int) -> None:
    assert await r.alloc.confirm_seat(room, user_id(n))


async def test_room_of_a_dead_relay_moves_on_rejoin_and_members_must_come_back(rig: Rig) -> None:
    r = rig
    a, b = relay("relay-a"), relay("relay-b", connections=5)
    await r.add(a)
    first = await r.alloc.join(req(1, [a], wanted="party"))
    await r.alloc.join(req(2, [a], wanted="party"))
    await _confirm(r, "party", 1)
    await _confirm(r, "party", 2)
    await r.add(b)
    await r.kill("relay-a")
    # User 1 rejoins the same room (resume): the room moves, same id.
    again = await r.alloc.join(req(1, [b], wanted="party", now=NOW + 5000))
    assert again.status == "ok"
    assert again.room_id == first.room_id == "party"
    assert again.relay is not None
    assert again.relay.relay_id == "relay-b"
    # User 1 reaches relay-b, which confirms it. User 2, confirmed by the dead
    # relay, holds a reservation only: it expires unless user 2 comes back.
    await _confirm(r, "party", 1)
    late = NOW + 5000 + RES + 1
    third = await r.alloc.join(req(3, [b], wanted="party", now=late))
    assert third.seats == 2  # users 1 and 3
    info = await r.alloc.room("party")
    assert info is not None
    assert info.relay_id == "relay-b"
    assert await r.alloc.user_room(user_id(2)) is None


async def test_draining_relay_keeps_an_occupied_room_and_moves_an_empty_one(rig: Rig) -> None:
    r = rig
    a, b = relay("relay-a"), relay("relay-b")
    await r.add(a)
    await r.alloc.join(req(1, [a], wanted="hall"))
    await r.alloc.join(req(2, [a], wanted="hall"))
    await _confirm(r, "hall", 1)
    await _confirm(r, "hall", 2)
    await r.add(b)
    await r.alloc.mark_draining("relay-a")
    # User 1 was shed first; user 2 is still on relay-a: moving would split the room.
    stay = await r.alloc.join(req(1, [b], wanted="hall", now=NOW + 1000))
    assert stay.relay is not None
    assert stay.relay.relay_id == "relay-a"
    # Both left (the consumer released their seats): the next rejoin moves it.
    assert await r.alloc.release_seat("hall", user_id(2), NOW + 2000)
    moved = await r.alloc.join(req(1, [b], wanted="hall", now=NOW + 3000))
    assert moved.relay is not None
    assert moved.relay.relay_id == "relay-b"
    assert moved.room_id == "hall"
    relays = {i.relay_id: i.seats for i in await r.alloc.relays()}
    assert relays == {"relay-a": 0, "relay-b": 1}


async def test_drained_empty_room_with_no_other_relay_is_no_relay(rig: Rig) -> None:
    r = rig
    a = relay("relay-a")
    await r.add(a)
    await r.alloc.join(req(1, [a], wanted="solo"))
    await r.alloc.release_seat("solo", user_id(1), NOW + 1)
    await r.alloc.mark_draining("relay-a")
    out = await r.alloc.join(req(1, [], wanted="solo", now=NOW + 2))
    assert out.status == "no_relay"


async def test_seat_scripts_ignore_events_of_a_previous_relay(settings: Settings) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.redis_url)
    keyspace = Keyspace(settings.redis_prefix)
    scripts = RedisScripts(client)
    alloc = RedisAllocator(client, keyspace, scripts)
    seats = RedisEventSeats(client, keyspace, scripts)
    try:
        a, b = relay("relay-a"), relay("relay-b")
        await write_heartbeat(client, keyspace, a)
        await write_heartbeat(client, keyspace, b)
        await alloc.join(req(1, [a], wanted="moved"))
        await client.delete(keyspace.relay_hb("relay-a"))
        await alloc.join(req(1, [b], wanted="moved", now=NOW + 10))
        assert await seats.confirm("moved", user_id(1), "relay-a") == -1
        assert await seats.confirm("moved", user_id(1), "relay-b") == 1
        assert not await seats.release("moved", user_id(1), "relay-a", NOW + 20)
        assert await seats.release_room("moved", "relay-a") == ""
        info = await alloc.room("moved")
        assert info is not None
        assert info.seats == 1
        assert await seats.release("moved", user_id(1), "relay-b", NOW + 30)
        assert await seats.release_room("moved", "relay-b") == "relay-b"
        assert await alloc.room("moved") is None
    finally:
        await client.aclose()


async def test_relay_reported_drain_is_mirrored_into_the_drain_set(settings: Settings) -> None:
    svc = Services(settings, Metrics())
    try:
        await write_heartbeat(svc.redis, svc.keyspace, relay("relay-a", state="draining"))
        await write_heartbeat(svc.redis, svc.keyspace, relay("relay-b"))
        assert await mirror_relay_drains(svc.allocator) == 1
        drained = {i.relay_id: i.drain_requested for i in await svc.allocator.relays()}
        assert drained == {"relay-a": True, "relay-b": False}
        assert await mirror_relay_drains(svc.allocator) == 0
    finally:
        await svc.close()


async def test_join_with_resume_session_id_puts_sid_in_the_ticket(
    client: Any, settings: Settings, redis_client: Any, keyspace: Keyspace
) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    resp = await client.post(
        "/v1/ops/worlds", json={"id": "lobby", "name": "Lobby"}, headers={"X-API-Key": admin}
    )
    assert resp.status_code == 201, resp.text
    await write_heartbeat(redis_client, keyspace, relay("relay-a"))
    auth = {"Authorization": f"Bearer {session_token(settings, user_id(7))}"}
    first = (await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)).json()
    resp = await client.post(
        "/v1/join",
        json={"world_id": "lobby", "room_id": first["room_id"], "resume_session_id": "s-123"},
        headers=auth,
    )
    assert resp.status_code == 200, resp.text
    claims = jwt.decode(resp.json()["ticket"], options={"verify_signature": False})
    assert claims["sid"] == "s-123"
    assert claims["room"] == first["room_id"]
    # Too many joins in flight: 503 overloaded with a jittered retry_after_ms.
    pacer: JoinPacer = client.app.state.services.pacer
    pacer.max_in_flight = 1
    async with pacer.slot():
        resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)
    assert resp.status_code == 503
    body = resp.json()
    assert body["type"] == "urn:plaza:problem:overloaded"
    assert body["reason"] == "in_flight"
    base = settings.join_retry_after_seconds * 1000
    assert base <= body["retry_after_ms"] <= 2 * base
    assert int(resp.headers["retry-after"]) == -(-body["retry_after_ms"] // 1000)
    resp = await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)
    assert resp.status_code == 200


async def test_pacer_bounds_joins_in_flight_with_jitter() -> None:
    refusals: list[str] = []
    pacer = JoinPacer(2, 3, on_refused=refusals.append)
    async with pacer.slot(), pacer.slot():
        with pytest.raises(Unavailable) as err:
            async with pacer.slot():
                pass
        assert err.value.retry_after_ms is not None
        assert 3000 <= err.value.retry_after_ms <= 6000
    assert pacer.in_flight == 0
    assert pacer.refused == 1
    assert refusals == ["in_flight"]
    waits = {pacer.retry_after_ms() for _ in range(200)}
    assert len(waits) > 100  # milliseconds, not a handful of whole seconds
