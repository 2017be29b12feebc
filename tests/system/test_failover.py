"""Failure and drain: players resume in the same room on a live relay, state and sequence intact.

Each test gets its own cluster (3 relays, 2 control planes, private Redis).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from plaza.protocol.StateChanged import StateChangedT

from .cluster import Cluster
from .player import Player, text

ROOM = "sys-resume-room"


async def _fill_room(cluster: Cluster, n: int) -> list[Player]:
    urls = [c.url for c in cluster.controls]
    players = [Player(urls[i % len(urls)], f"res{i}") for i in range(n)]
    async with httpx.AsyncClient(timeout=20) as http:
        for p in players:
            await p.sign_in(http)
            await p.join_and_connect(http, room=ROOM)
    return players


async def _history(players: list[Player]) -> tuple[list[str], int, int]:
    """Chat lines, the last chat sequence and the state version seen by the first player."""
    p = players[0]
    await p.chat("before the failure")
    await p.set_state("door", b"open")
    await p.wait_for(lambda e: isinstance(e.message, StateChangedT), within=10)
    lines = [text(c.text) for c in p.chats()]
    last_seq = max(c.sequence for c in p.chats())
    changed = p.messages(StateChangedT)[-1]
    assert changed.entry is not None
    return lines, last_seq, changed.entry.version


async def _rejoin_all(players: list[Player], dead_relay: str) -> float:
    """Every player rejoins the same room through the control plane; returns seconds taken."""
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=20) as http:
        await asyncio.gather(*(p.join_and_connect(http, room=ROOM, attempts=40) for p in players))
    for p in players:
        assert p.joined is not None
        assert p.joined.room_id == ROOM
        assert p.joined.relay_id != dead_relay
    return time.monotonic() - start


def _assert_state_and_sequence_survived(players: list[Player], last_seq: int, version: int) -> None:
    for p in players:
        assert p.welcome is not None
        snap = p.welcome.snapshot
        assert snap is not None
        assert snap.sequence >= last_seq, f"sequence went back: {snap.sequence} < {last_seq}"
        door = [e for e in (snap.state or []) if text(e.key) == "door"]
        assert door, "room state lost on the new relay"
        assert bytes(door[0].value or []) == b"open"
        assert door[0].version == version


async def test_kill_9_relay_players_resume_elsewhere(fresh_cluster: Cluster) -> None:
    players = await _fill_room(fresh_cluster, 5)
    try:
        relay_id = players[0].joined.relay_id if players[0].joined else ""
        _, last_seq, version = await _history(players)
        victim = next(r for r in fresh_cluster.relays if r.relay_id == relay_id)
        await asyncio.sleep(0.5)  # let the relay's batched snapshot reach Redis
        killed_at = time.monotonic()
        victim.process.kill()
        await asyncio.gather(*(p.wait_closed() for p in players))
        took = await _rejoin_all(players, relay_id)
        recovered = time.monotonic() - killed_at
        print(f"kill -9 recovery: {recovered:.2f}s total, {took:.2f}s rejoining 5 players")
        _assert_state_and_sequence_survived(players, last_seq, version)
        await players[1].chat("after the failure")
        for p in players:
            await p.wait_for(
                lambda e: text(getattr(e.message, "text", None)) == "after the failure"
            )
            seqs = [c.sequence for c in p.chats()]
            assert all(s > last_seq for s in seqs), "chat sequence restarted on the new relay"
    finally:
        await asyncio.gather(*(p.close() for p in players))


async def test_drain_moves_every_session(fresh_cluster: Cluster) -> None:
    players = await _fill_room(fresh_cluster, 5)
    try:
        relay_id = players[0].joined.relay_id if players[0].joined else ""
        _, last_seq, version = await _history(players)
        async with httpx.AsyncClient(timeout=10) as http:
            resp = await http.post(
                f"{fresh_cluster.controls[1].url}/v1/ops/relays/{relay_id}/drain",
                json={"deadline_seconds": 10, "reason": "system test"},
                headers={"x-api-key": fresh_cluster.admin_key},
            )
        assert resp.status_code in (200, 202), resp.text
        codes = await asyncio.gather(*(p.wait_closed(within=20) for p in players))
        assert set(codes) <= {1001, 4006}, codes
        for p in players:
            notice = p.disconnect_notice()
            assert notice is not None, f"{p.name} got no DisconnectNotice"
            assert notice.resume is not None
            assert notice.resume.rejoin
        await _rejoin_all(players, relay_id)
        _assert_state_and_sequence_survived(players, last_seq, version)
        drained = next(r for r in fresh_cluster.relays if r.relay_id == relay_id)
        assert drained.process.proc is not None
        assert drained.process.proc.wait(timeout=20) == 0, "drained relay did not exit 0"
    finally:
        await asyncio.gather(*(p.close() for p in players))


async def test_redis_restart_recovers_without_manual_steps(fresh_cluster: Cluster) -> None:
    players = await _fill_room(fresh_cluster, 3)
    try:
        fresh_cluster.stop_redis()
        # Connected rooms keep running while Redis is away.
        await players[0].chat("during the outage")
        for p in players:
            await p.wait_for(
                lambda e: text(getattr(e.message, "text", None)) == "during the outage"
            )
        fresh_cluster.start_redis()
        fresh_cluster.wait_relays_registered(timeout=30)
        newcomer = Player(fresh_cluster.controls[0].url, "newcomer")
        async with httpx.AsyncClient(timeout=20) as http:
            await newcomer.sign_in(http)
            await newcomer.join_and_connect(http, room=ROOM, attempts=40)
        try:
            await newcomer.chat("after the outage")
            for p in [*players, newcomer]:
                await p.wait_for(
                    lambda e: text(getattr(e.message, "text", None)) == "after the outage"
                )
        finally:
            await newcomer.close()
    finally:
        await asyncio.gather(*(p.close() for p in players))
