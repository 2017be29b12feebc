"""The operator views of issue 13 through the API, on real Redis and FerretDB: one
list shape (``{items, next}``, ``?limit``/``?cursor``) on every list, rooms
filtered, a room's members and saved state, user search, the ban list and the
affected counts of a broadcast's acks."""

from __future__ import annotations

from typing import Any

import flatbuffers
import redis.asyncio as aioredis

from plaza.coord.RoomStateSnapshot import RoomStateSnapshotT
from plaza.protocol.StateEntry import StateEntryT
from plaza_control import codec, paging
from plaza_control.clock import system_clock_ms
from plaza_control.keyspace import Keyspace
from plaza_control.models import CommandAcked, EventBodyT, MemberJoined, Role, RoomEvent
from plaza_control.settings import Settings

from .helpers import make_api_key, relay, write_heartbeat
from .test_events_api import _consume


def _ev(body: EventBodyT, n: int, relay_id: str, room: str = "", lifetime: int = 0) -> bytes:
    return codec.encode_room_event(
        RoomEvent(
            event_id=f"{relay_id}:b1:{n}",
            relay_id=relay_id,
            room_id=room,
            world_id="lobby",
            occurred_at_ms=system_clock_ms(),
            body=body,
            room_lifetime=lifetime,
        )
    )


async def _guest(client: Any, device: str, name: str) -> dict[str, Any]:
    resp = await client.post("/v1/auth/guest", json={"device_id": device, "display_name": name})
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


async def _join(client: Any, signed: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post(
        "/v1/join",
        json={"world_id": "lobby"},
        headers={"Authorization": f"Bearer {signed['session_token']}"},
    )
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


async def _walk(client: Any, path: str, hdr: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a list, one per page, following ``next``."""
    items: list[dict[str, Any]] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    for _ in range(50):
        q = f"{path}{sep}limit=1" + (f"&cursor={cursor}" if cursor else "")
        resp = await client.get(q, headers=hdr)
        assert resp.status_code == 200, (q, resp.text)
        page = resp.json()
        assert set(page) >= {"items", "next"}, (path, page)
        items += page["items"]
        cursor = page["next"]
        if cursor is None:
            return items
    raise AssertionError(f"{path} never ended")


async def _setup(client: Any, settings: Settings, r: aioredis.Redis, ks: Keyspace) -> str:
    admin = await make_api_key(settings, Role.ADMIN)
    hdr = {"X-API-Key": admin}
    for w in ("lobby", "plaza"):
        resp = await client.post("/v1/ops/worlds", json={"id": w, "name": w}, headers=hdr)
        assert resp.status_code == 201, resp.text
    await write_heartbeat(r, ks, relay("relay-a"))
    await write_heartbeat(r, ks, relay("relay-b"))
    return admin


async def test_every_list_has_one_shape(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await _setup(client, settings, redis_client, keyspace)
    hdr = {"X-API-Key": admin}
    users = [await _guest(client, f"device-{n:016d}", f"P{n}") for n in range(3)]
    for u in users:
        await _join(client, u)
    for u in users[:2]:
        resp = await client.post(
            f"/v1/ops/users/{u['user_id']}/ban", json={"reason": "spam"}, headers=hdr
        )
        assert resp.status_code == 200, resp.text
    await client.post("/v1/ops/announce", json={"scope": "everyone", "text": "x"}, headers=hdr)

    relays = await _walk(client, "/v1/ops/relays", hdr)
    assert [x["relay_id"] for x in relays] == ["relay-a", "relay-b"]
    assert [x["id"] for x in await _walk(client, "/v1/ops/worlds", hdr)] == ["lobby", "plaza"]
    assert len(await _walk(client, "/v1/ops/users", hdr)) == 3
    assert len(await _walk(client, "/v1/ops/rooms", hdr)) == 1
    bans = await _walk(client, "/v1/ops/bans", hdr)
    assert sorted(b["user_id"] for b in bans) == sorted(u["user_id"] for u in users[:2])
    assert {b["reason"] for b in bans} == {"spam"}
    audit = await _walk(client, "/v1/ops/audit", hdr)
    assert [e["action"] for e in audit][:1] == ["announce"]
    assert len(await _walk(client, "/v1/ops/commands", hdr)) >= 3  # 2 kicks, 1 announce
    # A cursor this API did not give is a 400 problem, not a 500.
    for bad in ("zzz", paging.encode("a", 1)):
        resp = await client.get(f"/v1/ops/users?cursor={bad}", headers=hdr)
        assert resp.status_code == 400, resp.text
        assert resp.json()["type"] == "urn:plaza:problem:invalid-input"


async def test_rooms_filters_and_members(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await _setup(client, settings, redis_client, keyspace)
    hdr = {"X-API-Key": admin}
    ann = await _guest(client, "device-000000000000000a", "Ann")
    bob = await _guest(client, "device-000000000000000b", "Bob")
    joined = await _join(client, ann)
    assert (await _join(client, bob))["room_id"] == joined["room_id"]
    room, on = joined["room_id"], joined["relay_id"]
    other = "relay-b" if on == "relay-a" else "relay-a"

    async def rooms(q: str) -> list[str]:
        resp = await client.get(f"/v1/ops/rooms?{q}", headers=hdr)
        assert resp.status_code == 200, resp.text
        return [x["room_id"] for x in resp.json()["items"]]

    assert await rooms("world=lobby") == [room]
    assert await rooms("world=plaza") == []
    assert await rooms(f"relay={on}") == [room]
    assert await rooms(f"relay={other}") == []
    assert await rooms("min_members=2&max_members=2") == [room]
    assert await rooms("min_members=3") == []
    assert await rooms("max_members=1") == []

    # Ann's seat is confirmed by her relay session; Bob's is only reserved.
    body = MemberJoined(user_id=ann["user_id"], member_id=1, display_name="Ann", session_id="s-1")
    await redis_client.xadd(
        keyspace.events,
        {"e": _ev(body, 1, on, room=room, lifetime=joined["room_lifetime"])},
    )
    await _consume(settings)
    resp = await client.get(f"/v1/ops/rooms/{room}/members", headers=hdr)
    assert resp.status_code == 200, resp.text
    page = resp.json()
    assert page["next"] is None
    got = {m["user_id"]: m for m in page["items"]}
    a, b = got[ann["user_id"]], got[bob["user_id"]]
    assert (a["display_name"], a["session_id"], a["confirmed"]) == ("Ann", "s-1", True)
    assert a["joined_at_ms"] > 0
    assert a["expires_at_ms"] == 0
    assert (b["display_name"], b["session_id"], b["confirmed"]) == ("Bob", "", False)
    assert b["expires_at_ms"] > system_clock_ms()
    assert len(await _walk(client, f"/v1/ops/rooms/{room}/members", hdr)) == 2
    resp = await client.get("/v1/ops/rooms/lobby.nope/members", headers=hdr)
    assert resp.status_code == 404


async def test_room_state_decodes_the_relay_snapshot(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await _setup(client, settings, redis_client, keyspace)
    hdr = {"X-API-Key": admin}
    resp = await client.get("/v1/ops/rooms/lobby.r1/state", headers=hdr)
    assert resp.status_code == 404
    assert resp.json()["type"] == "urn:plaza:problem:not-found"
    snap = RoomStateSnapshotT()
    snap.roomId, snap.worldId, snap.relayId = "lobby.r1", "lobby", "relay-a"
    snap.sequence, snap.savedAtMs, snap.roomLifetime = 42, 1_700_000_000_000, 3
    snap.entries = []
    for key, version, value in (("door", 4, b"open"), ("score", 9, b"\x00\x01")):
        e = StateEntryT()
        e.key, e.version, e.value, e.updatedBy = key, version, list(value), 7
        snap.entries.append(e)
    b = flatbuffers.Builder(256)
    b.Finish(snap.Pack(b))  # type: ignore[func-returns-value]  # no identifier, as the relay
    await redis_client.set(keyspace.room_snapshot("lobby.r1"), bytes(b.Output()))
    resp = await client.get("/v1/ops/rooms/lobby.r1/state", headers=hdr)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["room_lifetime"], got["sequence"], got["relay_id"]) == (3, 42, "relay-a")
    assert [(k["key"], k["version"], k["value_bytes"], k["updated_by"]) for k in got["keys"]] == [
        ("door", 4, 4, 7),
        ("score", 9, 2, 7),
    ]


async def test_user_search_by_name_device_and_identity(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await _setup(client, settings, redis_client, keyspace)
    hdr = {"X-API-Key": admin}
    alice = await _guest(client, "device-00000000000000a1", "Al.ice EU")
    alfred = await _guest(client, "device-00000000000000a2", "Alfred")
    alxice = await _guest(
        client, "device-00000000000000a3", "Alxice"
    )  # "Al.i" as a regex would match
    await _guest(client, "device-00000000000000b1", "Bob")

    async def ids(q: str) -> set[str]:
        resp = await client.get(f"/v1/ops/users?{q}", headers=hdr)
        assert resp.status_code == 200, resp.text
        return {u["id"] for u in resp.json()["items"]}

    assert await ids("name=Al") == {alice["user_id"], alfred["user_id"], alxice["user_id"]}
    assert await ids("name=Al.i") == {alice["user_id"]}  # literal, not a regex
    assert await ids("name=Al.ice%20E") == {alice["user_id"]}
    assert await ids("name=al") == set()
    assert await ids("device=device-00000000000000a2") == {alfred["user_id"]}
    assert await ids("device=device-00000000000000ff") == set()
    assert await ids("identity=https://issuer|nobody") == set()
    resp = await client.get(f"/v1/ops/users/{alice['user_id']}", headers=hdr)
    assert resp.json()["room_id"] is None
    joined = await _join(client, alice)
    resp = await client.get(f"/v1/ops/users/{alice['user_id']}", headers=hdr)
    assert resp.json()["room_id"] == joined["room_id"]


async def test_broadcast_acks_add_up_what_each_relay_affected(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    admin = await _setup(client, settings, redis_client, keyspace)
    hdr = {"X-API-Key": admin}
    sent = (
        await client.post("/v1/ops/announce", json={"scope": "everyone", "text": "hi"}, headers=hdr)
    ).json()
    cid = sent["command_id"]
    assert sent["receivers"] == 0  # no relay process subscribed here
    acks = [
        _ev(CommandAcked(command_id=cid, ok=True, detail="announce affected 3"), 1, "relay-a"),
        _ev(CommandAcked(command_id=cid, ok=True, detail="announce affected 4"), 2, "relay-b"),
        _ev(CommandAcked(command_id=cid, ok=False, detail="boom"), 3, "relay-c"),
    ]
    for raw in acks:
        await redis_client.xadd(keyspace.events, {"e": raw})
    await _consume(settings)
    got = (await client.get(f"/v1/ops/commands/{cid}", headers=hdr)).json()
    assert got["affected"] == 7
    assert (got["relays_acked"], got["relays_failed"], got["receivers"]) == (3, 1, 0)
    assert [(a["relay_id"], a["ok"], a["affected"]) for a in got["acks"]] == [
        ("relay-a", True, 3),
        ("relay-b", True, 4),
        ("relay-c", False, None),
    ]
    page = (await client.get("/v1/ops/commands", headers=hdr)).json()["items"]
    [listed] = [c for c in page if c["command_id"] == cid]
    assert listed["affected"] == 7


async def test_audit_names_the_key_status_reason_duration_and_request(
    client: Any, settings: Settings, redis_client: aioredis.Redis, keyspace: Keyspace
) -> None:
    await _setup(client, settings, redis_client, keyspace)
    mod = await make_api_key(settings, Role.MODERATOR, name="night-shift")
    admin = await make_api_key(settings, Role.ADMIN, name="auditor")
    ann = await _guest(client, "device-00000000000000c1", "Ann")
    uid = ann["user_id"]
    joined = await _join(client, ann)
    hdr = {"X-API-Key": mod}
    calls = [
        ("POST", f"/v1/ops/users/{uid}/ban", {"reason": "spam", "duration_seconds": 600}, 200),
        ("DELETE", f"/v1/ops/users/{uid}/ban", None, 204),
        ("POST", f"/v1/ops/users/{uid}/mute", {"reason": "caps", "duration_seconds": 60}, 202),
        ("POST", f"/v1/ops/rooms/{joined['room_id']}/kick", {"user_id": uid, "reason": "x"}, 202),
    ]
    for method, path, body, status in calls:
        resp = await client.request(
            method, path, json=body, headers=hdr | {"X-Request-ID": f"req-{status}-{method}"}
        )
        assert resp.status_code == status, resp.text
    resp = await client.post(
        f"/v1/ops/relays/{joined['relay_id']}/drain", json={"reason": "patch"}, headers=hdr
    )
    assert resp.status_code == 403
    ah = {"X-API-Key": admin}
    entries = (await client.get("/v1/ops/audit?actor=night-shift", headers=ah)).json()["items"]
    got = {e["action"]: e for e in entries}
    assert set(got) == {"user.ban", "user.unban", "user.mute", "room.kick", "relay.drain"}
    assert all(e["actor_name"] == "night-shift" and e["actor"] != "" for e in entries)
    ban = got["user.ban"]
    assert (ban["status"], ban["reason"], ban["duration_seconds"]) == (200, "spam", 600)
    assert ban["request_id"] == "req-200-POST"
    assert got["user.unban"]["status"] == 204
    mute = got["user.mute"]
    assert (mute["status"], mute["reason"], mute["duration_seconds"]) == (202, "caps", 60)
    assert got["room.kick"]["status"] == 202
    assert (got["relay.drain"]["status"], got["relay.drain"]["result"]) == (403, "error")
    key_id = ban["actor"]
    by_id = (await client.get(f"/v1/ops/audit?actor={key_id}", headers=ah)).json()["items"]
    assert len(by_id) == 5
    kicks = (await client.get("/v1/ops/audit?action=room.kick", headers=ah)).json()["items"]
    assert [e["target"] for e in kicks] == [f"{joined['room_id']}/{uid}"]
    room = joined["room_id"]
    by_target = (await client.get(f"/v1/ops/audit?target={room}", headers=ah)).json()["items"]
    assert {e["action"] for e in by_target} == {"room.kick"}
    at = ban["at_ms"]
    window = (await client.get(f"/v1/ops/audit?since={at}&until={at + 1}", headers=ah)).json()[
        "items"
    ]
    assert "user.ban" in {e["action"] for e in window}
    worlds = (await client.get("/v1/ops/audit?action=world.create", headers=ah)).json()["items"]
    assert {(e["status"], e["actor_name"]) for e in worlds} == {(201, "test")}
