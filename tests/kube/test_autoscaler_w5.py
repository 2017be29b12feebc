"""W5 — scale-down (and scale-up) under load, measured (docs/benchmarks.md).

Scale-down: 4 relays of capacity 10 (the StatefulSet at 4), 24 players in 6
rooms; every player chats and updates its position (a state key) every
300 ms. Load drops: 16 players leave, 8 stay (2 in each of 4 rooms). The
reconciler (as the chart's ServiceAccount, 2 concurrent drains, a 3 s
window) scales to 2. Measured: which relays were removed (must be the drained
ones), sessions lost (a staying player not back in its room at the end: must
be 0), chat lost (a line the relay echoed to its sender missing from the
room's history: must be 0), players back in the same room with state and
sequence, and the time from the scale-down decision to the replicas lowered.

Scale-up: 2 relays with 8 players; 12 more join (20 of 20 connections); the
reconciler's next pass raises replicas to 3 and the controller creates the
Pod. Measured: time from the pass that saw the load to the replica count
written, and to the Pod object created.

`scripts/bench_w5.py` runs both and prints the numbers; the tests here run
them once and hold them to the must-be values.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from plaza.protocol.ChatMessage import ChatMessageT
from system.player import Player, text

from . import test_autoscaler as base
from .test_autoscaler import STS, Rig, policy

# The rig's fixtures, shared with test_autoscaler.py.
relay_binary = base.relay_binary
make_rig = base.make_rig

INTERVAL = 0.3


@dataclass
class Life:
    """One staying player's loop: chat + position every INTERVAL; when its relay
    drains, rejoin the same room (as a client does) and go on."""

    player: Player
    room: str
    acked: list[str] = field(default_factory=list)
    unacked: int = 0
    moves: list[str] = field(default_factory=list)
    #: Per move: (highest chat sequence seen before, sequence in the new Welcome,
    #: position state present in the new Welcome).
    resumed: list[tuple[int, int, bool]] = field(default_factory=list)
    error: str = ""

    async def run(self, stop: asyncio.Event) -> None:
        p = self.player
        i = 0
        try:
            async with httpx.AsyncClient(timeout=20) as http:
                while not stop.is_set():
                    if p.close_code is not None:
                        await self._rejoin(http)
                        continue
                    i += 1
                    line = f"{p.name}#{i}"
                    try:
                        await p.chat(line)
                        await p.set_state(f"pos-{p.name}", str(i).encode())
                        await p.wait_for(
                            lambda e, t=line: (
                                isinstance(e.message, ChatMessageT) and text(e.message.text) == t
                            ),
                            5,
                        )
                        self.acked.append(line)
                    except (ConnectionError, TimeoutError, websockets.ConnectionClosed):
                        self.unacked += 1
                    await asyncio.sleep(INTERVAL)
        except Exception as exc:  # a lost session: reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"

    async def _rejoin(self, http: httpx.AsyncClient) -> None:
        p = self.player
        notice = p.disconnect_notice()
        if notice is None:
            raise RuntimeError(f"closed with {p.close_code} and no DisconnectNotice")
        seen = max((c.sequence for c in p.chats()), default=0)
        await p.join_and_connect(http, room=self.room, attempts=40)
        assert p.joined is not None
        if p.joined.room_id != self.room:
            raise RuntimeError(f"rejoined {p.joined.room_id}, not {self.room}")
        assert p.welcome is not None
        snap = p.welcome.snapshot
        seq = snap.sequence if snap else 0
        keys = {text(e.key) for e in (snap.state or [])} if snap else set()
        self.moves.append(p.joined.relay_id)
        self.resumed.append((seen, seq, f"pos-{p.name}" in keys))


@dataclass
class ScaleDownResult:
    removed: list[str]
    drained: list[str]
    players: int
    moved: int
    sessions_lost: int
    chat_sent: int
    chat_lost: int
    unacked: int
    same_room_with_state_and_sequence: int
    decision_to_lowered_ms: int
    lowered_when_empty: bool
    writes: list[int]


async def _history(rig: Rig, room: str) -> set[str]:
    url = f"{rig.cluster.controls[0].url}/v1/rooms/{room}/chat"
    lines: set[str] = set()
    cursor: str | None = None
    async with httpx.AsyncClient(timeout=20) as http:
        while True:
            params: dict[str, Any] = {"order": "oldest", "limit": 200}
            if cursor:
                params["cursor"] = cursor
            resp = await http.get(url, params=params, headers={"x-api-key": rig.cluster.admin_key})
            resp.raise_for_status()
            body = resp.json()
            lines |= {item["text"] for item in body["items"]}
            cursor = body["next"]
            if not cursor:
                return lines


async def scale_down_under_load(rig: Rig) -> ScaleDownResult:
    """Run on a rig made with 4 relays."""
    rooms = {f"w5-{c}": 4 for c in "abcdef"}
    await rig.add_players(rooms)
    by_room: dict[str, list[Player]] = {}
    for p in rig.players:
        assert p.joined is not None
        by_room.setdefault(p.joined.room_id, []).append(p)
    for room, members in by_room.items():
        await members[0].set_state("door", room.encode())
    stay = [p for room in list(rooms)[:4] for p in by_room[room][:2]]
    leave = [p for p in rig.players if p not in stay]
    stop = asyncio.Event()
    lives = [Life(p, p.joined.room_id) for p in stay if p.joined]
    tasks = [asyncio.create_task(life.run(stop)) for life in lives]
    await asyncio.sleep(2)  # everyone chatting
    # Load drops.
    await asyncio.gather(*(p.close() for p in leave))
    rec, sts = await rig.reconciler(
        policy(max_concurrent_drains=2, stabilization_ms=3_000), identity="w5"
    )
    run = asyncio.create_task(rec.run(0.5))
    try:
        deadline = time.monotonic() + 120
        while rig.replicas() != 2:
            if run.done():
                run.result()
            if time.monotonic() > deadline:
                raise TimeoutError(f"not scaled to 2: {rec.status()}")
            await asyncio.sleep(0.2)
        # Keep chatting a little on the two that stay, then stop.
        await asyncio.sleep(2)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    decisions = list(reversed(rec.status().decisions))
    started = next(d for d in decisions if d.outcome == "scale-down-start")
    drained = sorted({r for d in decisions for r in d.drained})
    await rig.wait("pods of the removed relays deleted", lambda: len(rig.pods()) == 2, 30)
    removed = sorted({f"{STS}-{o}" for o in range(4)} - rig.pods())
    # Chat: every echoed line must reach the room's history (the event consumer
    # writes it; give it a few seconds).
    lost = 0
    sent = sum(len(life.acked) for life in lives)
    for _ in range(20):
        lost = 0
        for room in {life.room for life in lives}:
            have = await _history(rig, room)
            lost += sum(
                1 for life in lives if life.room == room for x in life.acked if x not in have
            )
        if lost == 0:
            break
        await asyncio.sleep(0.5)
    ok = 0
    sessions_lost = 0
    for life in lives:
        p = life.player
        back = (
            not life.error
            and p.close_code is None
            and p.joined is not None
            and p.joined.room_id == life.room
            and p.joined.relay_id in (f"{STS}-0", f"{STS}-1")
        )
        if not back:
            sessions_lost += 1
        if life.moves and back and all(seq >= seen and pos for seen, seq, pos in life.resumed):
            ok += 1
    first_down = next(w for w in sts.writes if w[1] < 4)
    return ScaleDownResult(
        removed=removed,
        drained=drained,
        players=len(lives),
        moved=sum(1 for life in lives if life.moves),
        sessions_lost=sessions_lost,
        chat_sent=sent,
        chat_lost=lost,
        unacked=sum(life.unacked for life in lives),
        same_room_with_state_and_sequence=ok,
        decision_to_lowered_ms=sts.writes[-1][0] - started.at_ms,
        lowered_when_empty=all(v == (0, 0, 0) for w in sts.writes for v in w[2].values())
        and first_down[0] >= started.at_ms,
        writes=[w[1] for w in sts.writes],
    )


@dataclass
class ScaleUpResult:
    replicas_before: int
    replicas_after: int
    pass_to_written_ms: int
    pass_to_pod_created_ms: int


async def scale_up_under_load(rig: Rig) -> ScaleUpResult:
    """Run on a rig made with 2 relays."""
    await rig.add_players({"w5-up-a": 4, "w5-up-b": 4})
    rec, sts = await rig.reconciler(policy(stabilization_ms=300_000), identity="w5-up")
    plan = await rec.reconcile()
    assert plan is not None, rec.status()
    assert plan.outcome == "steady", rec.status()
    await rig.add_players({"w5-up-c": 6, "w5-up-d": 6})
    before = rig.replicas()
    began = int(time.time() * 1000)
    plan = await rec.reconcile()
    assert plan is not None, rec.status().last_error
    want = f"{STS}-{before}"
    with contextlib.suppress(TimeoutError):
        await rig.wait("pod created", lambda: want in rig.pods(), 30)
    created = int(time.time() * 1000)
    return ScaleUpResult(
        replicas_before=before,
        replicas_after=rig.replicas(),
        pass_to_written_ms=(sts.writes[0][0] - began) if sts.writes else -1,
        pass_to_pod_created_ms=created - began if want in rig.pods() else -1,
    )


async def test_w5_scale_down_under_load(make_rig: Any) -> None:
    rig: Rig = await make_rig(4)
    r = await scale_down_under_load(rig)
    print(r)
    assert r.removed == r.drained == [f"{STS}-2", f"{STS}-3"]
    assert r.sessions_lost == 0
    assert r.chat_lost == 0
    assert r.moved > 0
    assert r.same_room_with_state_and_sequence == r.moved
    assert r.lowered_when_empty
    assert r.writes == [2]


async def test_w5_scale_up_under_load(make_rig: Any) -> None:
    rig: Rig = await make_rig(2)
    r = await scale_up_under_load(rig)
    print(r)
    assert (r.replicas_before, r.replicas_after) == (2, 3)
    assert 0 <= r.pass_to_written_ms < 2_000
    assert r.pass_to_pod_created_ms >= 0
