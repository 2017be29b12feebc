"""Operator commands reach the relay that hosts the room, take effect, and are acknowledged."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from plaza.common.CloseCode import CloseCode
from plaza.common.ErrorCode import ErrorCode
from plaza.protocol.Announcement import AnnouncementT
from plaza.protocol.Error import ErrorT

from .cluster import Cluster
from .player import Player, text


async def _ops(cluster: Cluster, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.request(
            method,
            f"{cluster.controls[0].url}{path}",
            json=body,
            headers={"x-api-key": cluster.admin_key},
        )
    assert resp.status_code < 300, f"{path}: {resp.status_code} {resp.text}"
    out: dict[str, Any] = resp.json()
    return out


async def _acked(cluster: Cluster, command_id: str, within: float = 10) -> dict[str, Any]:
    """Polls the ops API until the command is acknowledged; returns the record."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            resp = await http.get(
                f"{cluster.controls[1].url}/v1/ops/commands/{command_id}",
                headers={"x-api-key": cluster.admin_key},
            )
            resp.raise_for_status()
            record: dict[str, Any] = resp.json()
            if record["ack"] != "pending":
                return record
            if time.monotonic() > deadline:
                raise TimeoutError(f"command {command_id} still pending: {record}")
            await asyncio.sleep(0.2)


async def _room_of(cluster: Cluster, room: str, n: int, tag: str) -> list[Player]:
    players = [Player(cluster.controls[i % 2].url, f"{tag}{i}") for i in range(n)]
    async with httpx.AsyncClient(timeout=20) as http:
        for p in players:
            await p.sign_in(http)
            await p.join_and_connect(http, room=room)
    return players


async def test_kick_mute_announce_close_are_applied_and_acknowledged(
    shared_cluster: Cluster,
) -> None:
    room = "sys-ops-room"
    players = await _room_of(shared_cluster, room, 3, "ops")
    host = players[0].joined.relay_id if players[0].joined else ""
    try:
        # Announce to the room.
        cmd = await _ops(
            shared_cluster,
            "POST",
            "/v1/ops/announce",
            {"scope": "room", "room_id": room, "text": "maintenance soon"},
        )
        assert cmd["target_relay_id"] == host
        for p in players:
            await p.wait_for(lambda e: isinstance(e.message, AnnouncementT))
            assert text(p.messages(AnnouncementT)[-1].text) == "maintenance soon"
        record = await _acked(shared_cluster, cmd["command_id"])
        assert record["ack"] == "ok", record
        # The relay reports the members it reached ("announce affected 3").
        assert record["affected"] == 3, record
        assert record["receivers"] >= 1, record  # the host relay was subscribed
        assert [(a["relay_id"], a["affected"]) for a in record["acks"]] == [(host, 3)], record

        # Mute player 1 in the room: their chat is refused with Muted.
        muted = players[1]
        cmd = await _ops(
            shared_cluster,
            "POST",
            f"/v1/ops/users/{muted.user_id}/mute",
            {"reason": "spam", "room_id": room, "duration_seconds": 600},
        )
        assert (await _acked(shared_cluster, cmd["command_id"]))["ack"] == "ok"
        await muted.chat("can anyone hear me?")
        err = await muted.wait_for(lambda e: isinstance(e.message, ErrorT))
        assert isinstance(err.message, ErrorT)
        assert err.message.code == ErrorCode.Muted

        # Kick player 2: closed with Kicked.
        kicked = players[2]
        cmd = await _ops(
            shared_cluster,
            "POST",
            f"/v1/ops/rooms/{room}/kick",
            {"user_id": kicked.user_id, "reason": "griefing"},
        )
        assert await kicked.wait_closed() == CloseCode.Kicked
        assert (await _acked(shared_cluster, cmd["command_id"]))["ack"] == "ok"

        # Close the room: everyone left is disconnected with RoomClosed.
        cmd = await _ops(shared_cluster, "POST", f"/v1/ops/rooms/{room}/close", {"reason": "done"})
        assert await players[0].wait_closed() == CloseCode.RoomClosed
        assert (await _acked(shared_cluster, cmd["command_id"]))["ack"] == "ok"
    finally:
        await asyncio.gather(*(p.close() for p in players))
