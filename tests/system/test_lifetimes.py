"""Room lifetimes end to end (decisions/009; issue 12, defect 1): after an operator
closes a room, a ticket minted before the close is refused with 4104
TicketWrongRoom, and the next joiners get the room again, a new lifetime, on one
relay, together."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from plaza.common.CloseCode import CloseCode

from .cluster import Cluster
from .player import Joined, Player, text


async def _join_raw(http: httpx.AsyncClient, p: Player, room: str) -> dict[str, Any]:
    resp = await http.post(
        f"{p.control_url}/v1/join",
        json={"world_id": "lobby", "room_id": room},
        headers={"authorization": f"Bearer {p.session_token}"},
    )
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


async def test_stale_ticket_after_a_close_is_refused_and_the_room_reopens_on_one_relay(
    shared_cluster: Cluster,
) -> None:
    cluster = shared_cluster
    room = "sys-lifetime-room"
    first = Player(cluster.controls[0].url, "first")
    stale = Player(cluster.controls[1].url, "stale")
    nxt = Player(cluster.controls[1].url, "next")
    players = [first, stale, nxt]
    try:
        async with httpx.AsyncClient(timeout=20) as http:
            for p in players:
                await p.sign_in(http)
            await first.join_and_connect(http, room=room)
            assert first.joined is not None
            before = await _join_raw(http, stale, room)
            assert before["room_lifetime"] >= 1
            host = first.joined.relay_id
            assert before["relay_id"] == host
            # The ticket is kept, not used: the operator closes the room first.
            resp = await http.post(
                f"{cluster.controls[0].url}/v1/ops/rooms/{room}/close",
                json={"reason": "lifetime test"},
                headers={"x-api-key": cluster.admin_key},
            )
            assert resp.status_code == 202, resp.text
            assert await first.wait_closed() == CloseCode.RoomClosed

            # The stale ticket names a lifetime that ended: refused, nothing opened.
            await stale.close()
            stale.joined = Joined(room, host, before["relay_url"], before["ticket"])
            try:
                await stale.connect(within=10)
                raise AssertionError("a ticket of a closed room lifetime was admitted")
            except ConnectionError:
                pass
            assert stale.close_code == CloseCode.TicketWrongRoom

            # The next joiners: the same room id, a new lifetime, one relay.
            after = await _join_raw(http, nxt, room)
            assert after["room_lifetime"] > before["room_lifetime"]
            nxt.joined = Joined(room, after["relay_id"], after["relay_url"], after["ticket"])
            await nxt.connect()
            await stale.join_and_connect(http, room=room)
            await first.join_and_connect(http, room=room)
            relays = {p.joined.relay_id for p in players if p.joined is not None}
            assert len(relays) == 1, relays
            assert first.welcome is not None
            assert first.welcome.snapshot is not None
            members = {text(m.userId) for m in first.welcome.snapshot.members or []}
            assert {nxt.user_id, stale.user_id, first.user_id} <= members
            rooms = await http.get(
                f"{cluster.controls[0].url}/v1/ops/rooms",
                headers={"x-api-key": cluster.admin_key},
            )
            [info] = [r for r in rooms.json()["items"] if r["room_id"] == room]
            assert (info["relay_id"], info["lifetime"]) == (relays.pop(), after["room_lifetime"])
    finally:
        await asyncio.gather(*(p.close() for p in players))
