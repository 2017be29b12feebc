"""HTTP reads of what the consumer wrote: command acks, chat history (players and
operators), session records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from plaza_control import codec, paging
from plaza_control.clock import system_clock_ms
from plaza_control.container import Services
from plaza_control.keyspace import Keyspace
from plaza_control.models import (
    ChatMessage,
    CommandAcked,
    EventBodyT,
    MemberJoined,
    MemberLeft,
    Role,
    RoomEvent,
)
from plaza_control.observability import Metrics
from plaza_control.settings import Settings

from .helpers import (
    make_api_key,
    relay,
    relay_listening,
    session_token,
    user_id,
    write_heartbeat,
)


@pytest.fixture
async def listening(redis_client: aioredis.Redis, keyspace: Keyspace) -> AsyncIterator[None]:
    """A relay process is subscribed: commands start ``pending``."""
    async with relay_listening(redis_client, keyspace):
        yield


def _ev(
    body: EventBodyT, n: int, room: str = "", relay_id: str = "relay-a", lifetime: int = 1
) -> bytes:
    return codec.encode_room_event(
        RoomEvent(
            event_id=f"{relay_id}:b1:{n}",
            relay_id=relay_id,
            room_id=room,
            world_id="lobby",
            occurred_at_ms=system_clock_ms(),
            body=body,
            room_lifetime=lifetime if room else 0,
        )
    )


async def _consume(settings: Settings) -> None:
    """Consumers of both groups on this test's loop (the app under test runs on
    another)."""
    svc = Services(settings, Metrics())
    try:
        for c in (svc.records_consumer("test"), svc.seat_consumer("test")):
            for _ in range(10):
                was_pending = c._pending
                if await c.step() == 0 and not was_pending:
                    break
    finally:
        await svc.close()


async def _world(client: Any, admin: str) -> None:
    resp = await client.post(
        "/v1/ops/worlds", json={"id": "lobby", "name": "Lobby"}, headers={"X-API-Key": admin}
    )
    assert resp.status_code == 201, resp.text


async def test_command_acks_are_visible_in_the_ops_api(
    client: Any,
    settings: Settings,
    redis_client: aioredis.Redis,
    keyspace: Keyspace,
    listening: None,
) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    viewer = await make_api_key(settings, Role.VIEWER)
    await _world(client, admin)
    hdr = {"X-API-Key": admin}
    everyone = (
        await client.post("/v1/ops/announce", json={"scope": "everyone", "text": "hi"}, headers=hdr)
    ).json()
    await write_heartbeat(redis_client, keyspace, relay("relay-a"))
    auth = {"Authorization": f"Bearer {session_token(settings, user_id(1))}"}
    room = (await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)).json()
    kick = (
        await client.post(
            f"/v1/ops/rooms/{room['room_id']}/kick",
            json={"user_id": user_id(1), "reason": "test"},
            headers=hdr,
        )
    ).json()
    pending = (
        await client.get(f"/v1/ops/commands/{kick['command_id']}", headers={"X-API-Key": viewer})
    ).json()
    assert pending["ack"] == "pending"
    assert pending["acked_at_ms"] == 0
    acks = [
        _ev(CommandAcked(command_id=kick["command_id"], ok=True, detail="kicked 1"), 1),
        _ev(CommandAcked(command_id=everyone["command_id"], ok=True, detail="2 rooms"), 2),
        _ev(
            CommandAcked(command_id=everyone["command_id"], ok=False, detail="no rooms"),
            3,
            relay_id="relay-b",
        ),
    ]
    for raw in [*acks, acks[0]]:  # the last one is a redelivery
        await redis_client.xadd(keyspace.events, {"e": raw})
    await _consume(settings)
    got = (
        await client.get(f"/v1/ops/commands/{kick['command_id']}", headers={"X-API-Key": viewer})
    ).json()
    assert got["ack"] == "ok"
    assert got["ack_detail"] == "kicked 1"
    assert got["acked_at_ms"] > 0
    assert got["kind"] == "kick"
    assert got["target_relay_id"] == "relay-a"
    assert [(a["relay_id"], a["ok"]) for a in got["acks"]] == [("relay-a", True)]
    b = (
        await client.get(
            f"/v1/ops/commands/{everyone['command_id']}", headers={"X-API-Key": viewer}
        )
    ).json()
    assert b["ack"] == "failed"
    assert [(a["relay_id"], a["ok"]) for a in b["acks"]] == [
        ("relay-a", True),
        ("relay-b", False),
    ]
    page = (await client.get("/v1/ops/commands?limit=1", headers={"X-API-Key": viewer})).json()
    assert [c["command_id"] for c in page["items"]] == [kick["command_id"]]
    nxt = (
        await client.get(
            f"/v1/ops/commands?limit=1&cursor={page['next']}", headers={"X-API-Key": viewer}
        )
    ).json()
    assert [c["command_id"] for c in nxt["items"]] == [everyone["command_id"]]
    failed = (await client.get("/v1/ops/commands?ack=failed", headers=hdr)).json()
    assert [c["command_id"] for c in failed["items"]] == [everyone["command_id"]]


async def test_a_command_no_relay_process_could_receive_is_undeliverable_at_once(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = {"X-API-Key": await make_api_key(settings, Role.ADMIN)}
    sent = (
        await client.post(
            "/v1/ops/announce", json={"scope": "everyone", "text": "hi"}, headers=admin
        )
    ).json()
    assert (sent["receivers"], sent["ack"]) == (0, "undeliverable")
    got = (await client.get(f"/v1/ops/commands/{sent['command_id']}", headers=admin)).json()
    assert (got["ack"], got["ack_detail"]) == (
        "undeliverable",
        "no relay was subscribed to its channel when it was sent",
    )
    # Final for the sweeper: the deadline does not turn it into "expired".
    svc = Services(settings, Metrics())
    try:
        assert await svc.commands._records.expire(got["deadline_ms"]) == 0
    finally:
        await svc.close()
    page = (await client.get("/v1/ops/commands?ack=undeliverable", headers=admin)).json()
    assert [c["command_id"] for c in page["items"]] == [sent["command_id"]]
    async with relay_listening(redis_client, keyspace):
        listened = (
            await client.post(
                "/v1/ops/announce", json={"scope": "everyone", "text": "hi"}, headers=admin
            )
        ).json()
    assert (listened["receivers"], listened["ack"]) == (1, "pending")


async def test_a_command_no_relay_acknowledged_expires_and_stays_expired(
    client: Any,
    settings: Settings,
    redis_client: aioredis.Redis,
    keyspace: Keyspace,
    listening: None,
) -> None:
    """Pub/sub delivers at most once: a command sent while no relay listened reaches
    the final state ``expired`` after its deadline; a later ack is kept in
    ``acks`` without changing it."""
    admin = {"X-API-Key": await make_api_key(settings, Role.ADMIN)}
    sent = (
        await client.post(
            "/v1/ops/announce", json={"scope": "everyone", "text": "hi"}, headers=admin
        )
    ).json()
    svc = Services(settings, Metrics())  # on this test's loop (the app runs on another)
    try:
        assert await svc.commands.expire_overdue() == 0  # within its deadline
        got = (await client.get(f"/v1/ops/commands/{sent['command_id']}", headers=admin)).json()
        assert got["ack"] == "pending"
        assert got["deadline_ms"] == got["at_ms"] + settings.command_deadline_seconds * 1000
        # The maintenance loop runs this every sweep interval; here, past the deadline.
        assert await svc.commands._records.expire(got["deadline_ms"]) == 1
    finally:
        await svc.close()
    got = (await client.get(f"/v1/ops/commands/{sent['command_id']}", headers=admin)).json()
    assert (got["ack"], got["ack_detail"]) == (
        "expired",
        "no relay acknowledged it before its deadline",
    )
    late = CommandAcked(command_id=sent["command_id"], ok=True, detail="late")
    await redis_client.xadd(keyspace.events, {"e": _ev(late, 1)})
    await _consume(settings)
    got = (await client.get(f"/v1/ops/commands/{sent['command_id']}", headers=admin)).json()
    assert got["ack"] == "expired"
    assert [a["detail"] for a in got["acks"]] == ["late"]
    page = (await client.get("/v1/ops/commands?ack=expired", headers=admin)).json()
    assert [c["command_id"] for c in page["items"]] == [sent["command_id"]]


async def test_chat_history_pages_and_who_may_read_it(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    viewer = await make_api_key(settings, Role.VIEWER)
    await _world(client, admin)
    await write_heartbeat(redis_client, keyspace, relay("relay-a"))
    mine = {"Authorization": f"Bearer {session_token(settings, user_id(1))}"}
    other = {"Authorization": f"Bearer {session_token(settings, user_id(2))}"}
    j1 = await client.post("/v1/join", json={"world_id": "lobby", "room_id": "hall"}, headers=mine)
    assert j1.status_code == 200, j1.text
    j2 = await client.post("/v1/join", json={"world_id": "lobby", "room_id": "den"}, headers=other)
    assert j2.status_code == 200, j2.text
    for seq in range(1, 26):
        body = ChatMessage(sequence=seq, user_id=user_id(1), display_name="Ann", text=f"#{seq}")
        await redis_client.xadd(keyspace.events, {"e": _ev(body, seq, room="hall")})
    await redis_client.xadd(
        keyspace.events,
        {"e": _ev(ChatMessage(sequence=1, user_id=user_id(2), text="den"), 99, room="den")},
    )
    await _consume(settings)

    seen: list[int] = []
    cursor = None
    while True:
        q = "limit=10" + (f"&cursor={cursor}" if cursor is not None else "")
        resp = await client.get(f"/v1/rooms/hall/chat?{q}", headers=mine)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        seen += [m["sequence"] for m in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == list(range(25, 0, -1))
    oldest = (
        await client.get(
            f"/v1/rooms/hall/chat?order=oldest&limit=5&cursor={paging.encode(20)}", headers=mine
        )
    ).json()
    assert [m["sequence"] for m in oldest["items"]] == [21, 22, 23, 24, 25]
    first = oldest["items"][0]
    assert first["text"] == "#21"
    assert first["display_name"] == "Ann"
    assert first["user_id"] == user_id(1)
    assert first["world_id"] == "lobby"
    # A player of another room is refused; no credentials at all is 401.
    resp = await client.get("/v1/rooms/hall/chat", headers=other)
    assert resp.status_code == 403
    assert resp.json()["type"] == "urn:plaza:problem:forbidden"
    assert (await client.get("/v1/rooms/hall/chat")).status_code == 401
    assert (await client.get("/v1/rooms/hall/chat?limit=201", headers=mine)).status_code == 400
    # Operators read any room, with X-API-Key or a bearer API key.
    den = (await client.get("/v1/rooms/den/chat", headers={"X-API-Key": viewer})).json()
    assert [m["text"] for m in den["items"]] == ["den"]
    resp = await client.get("/v1/rooms/hall/chat", headers={"Authorization": f"Bearer {viewer}"})
    assert resp.status_code == 200
    assert len(resp.json()["items"]) == 25


async def test_chat_history_belongs_to_one_room_lifetime(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    """A room closed and opened again under the same id starts an empty history;
    an operator may still read an earlier lifetime (decisions/009)."""
    admin = await make_api_key(settings, Role.ADMIN)
    await _world(client, admin)
    await write_heartbeat(redis_client, keyspace, relay("relay-a"))
    mine = {"Authorization": f"Bearer {session_token(settings, user_id(1))}"}
    first = await client.post(
        "/v1/join", json={"world_id": "lobby", "room_id": "hall"}, headers=mine
    )
    assert first.status_code == 200, first.text
    assert first.json()["room_lifetime"] == 1
    said = ChatMessage(sequence=1, user_id=user_id(1), text="before the close")
    await redis_client.xadd(keyspace.events, {"e": _ev(said, 1, room="hall", lifetime=1)})
    await _consume(settings)
    closed = await client.post(
        "/v1/ops/rooms/hall/close", json={"reason": "test"}, headers={"X-API-Key": admin}
    )
    assert closed.status_code == 202, closed.text
    again = await client.post(
        "/v1/join", json={"world_id": "lobby", "room_id": "hall"}, headers=mine
    )
    assert again.status_code == 200, again.text
    assert again.json()["room_lifetime"] == 2
    said = ChatMessage(sequence=1, user_id=user_id(1), text="after")
    await redis_client.xadd(keyspace.events, {"e": _ev(said, 2, room="hall", lifetime=2)})
    await _consume(settings)
    page = (await client.get("/v1/rooms/hall/chat", headers=mine)).json()
    assert (page["room_lifetime"], [m["text"] for m in page["items"]]) == (2, ["after"])
    assert page["items"][0]["room_lifetime"] == 2
    old = await client.get("/v1/rooms/hall/chat?lifetime=1", headers={"X-API-Key": admin})
    assert old.status_code == 200, old.text
    assert (old.json()["room_lifetime"], [m["text"] for m in old.json()["items"]]) == (
        1,
        ["before the close"],
    )
    # Players read the current lifetime only.
    assert (await client.get("/v1/rooms/hall/chat?lifetime=1", headers=mine)).status_code == 403


async def test_sessions_are_queryable_by_user(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    viewer = await make_api_key(settings, Role.VIEWER)
    events: list[EventBodyT] = [
        MemberJoined(user_id=user_id(5), member_id=1, display_name="Eve", session_id="a"),
        MemberLeft(user_id=user_id(5), member_id=1, session_id="a", reason="kicked"),
        MemberJoined(user_id=user_id(5), member_id=2, session_id="b"),
    ]
    for n, body in enumerate(events):
        await redis_client.xadd(keyspace.events, {"e": _ev(body, n, room="hall")})
    await _consume(settings)
    hdr = {"X-API-Key": viewer}
    page = (await client.get(f"/v1/ops/users/{user_id(5)}/sessions", headers=hdr)).json()
    by_id = {s["id"]: s for s in page["items"]}
    assert by_id["a"]["status"] == "completed"
    assert by_id["a"]["leave_reason"] == "kicked"
    assert by_id["a"]["room_id"] == "hall"
    assert by_id["b"]["status"] == "active"
    resp = await client.get(f"/v1/ops/users/{user_id(5)}/sessions")
    assert resp.status_code == 401


async def test_rejoin_after_the_relay_died_lands_in_the_same_room_on_a_live_relay(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await make_api_key(settings, Role.ADMIN)
    await _world(client, admin)
    await write_heartbeat(redis_client, keyspace, relay("relay-a"))
    auth = {"Authorization": f"Bearer {session_token(settings, user_id(1))}"}
    first = (await client.post("/v1/join", json={"world_id": "lobby"}, headers=auth)).json()
    assert first["relay_id"] == "relay-a"
    joined = MemberJoined(user_id=user_id(1), member_id=1, session_id="sess-1")
    await redis_client.xadd(keyspace.events, {"e": _ev(joined, 1, room=first["room_id"])})
    await _consume(settings)
    seat = await redis_client.zscore(keyspace.room_seats(first["room_id"]), user_id(1))
    assert seat == 9007199254740991  # confirmed
    # relay-a dies (its heartbeat expires); relay-b is up.
    await redis_client.delete(keyspace.relay_hb("relay-a"))
    await write_heartbeat(redis_client, keyspace, relay("relay-b"))
    resp = await client.post(
        "/v1/join",
        json={"world_id": "lobby", "room_id": first["room_id"], "resume_session_id": "sess-1"},
        headers=auth,
    )
    assert resp.status_code == 200, resp.text
    again = resp.json()
    assert again["room_id"] == first["room_id"]
    assert again["relay_id"] == "relay-b"
    rooms = (await client.get("/v1/ops/rooms", headers={"X-API-Key": admin})).json()["items"]
    assert [(r["room_id"], r["relay_id"], r["seats"]) for r in rooms] == [
        (first["room_id"], "relay-b", 1)
    ]
