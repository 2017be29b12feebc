"""The fault matrix under load (issue 15 §3; docs/benchmarks.md "Fault matrix").

One Plaza on loopback (`tests/system/cluster.py`: 2 relays, 2 control
planes, a private Redis with AOF `appendfsync always` and no RDB snapshots,
and FerretDB) takes the faults one after the other (what a fault killed is
started again before the next). Per fault, players and rooms of its own
carry W1-like traffic: players in several rooms
move at 10 Hz, send uniquely numbered chat lines and set their own state key;
one player per room leaves and rejoins every few seconds through the control
planes in turn. Then the fault is injected and every player recovers as the
protocol tells a client to (docs/protocol.md §8: rejoin through a control
plane, the reconnect rule's backoff, the other control plane when one does
not answer). Measured per fault:

- chat lost for members present: a line its sender saw echoed by the relay
  (the acknowledgement) that another member of the room never received
  although it was connected to the room from before the line was sent until
  2 s after the echo; and echoed lines missing from the room's history in
  MongoDB (read directly, after the `control` consumer caught up);
- room state: a key set once at the start must be in every final view, and
  every player's own key, in every member's final view and in every Welcome
  after a rejoin, must be at least the value its owner last saw acknowledged;
- sequence: per connection, the sequenced events must follow the Welcome's
  snapshot sequence by exactly 1 each (gaps, repeats); across a member's
  connections, a new Welcome must not go below a sequence already seen; and
  across the room, one sequence number must never name two different events;
- duplicate deliveries (one chat line received twice by one member) and
  duplicate history records;
- recovery: fault → every player connected to its room with a line sent
  after the fault acknowledged;
- what clients saw: close codes, join failures, relay `Error` codes.

    uv run python scripts/faults.py            # the whole matrix, ≤ 6 min on 2 cores
    uv run python scripts/faults.py --short    # relay kill -9, Redis pause, control plane kill
    uv run python scripts/faults.py --write-docs  # and rewrite "## Fault matrix" in the docs

The script starts its own FerretDB through `scripts/services.sh` (private data
directory and free ports) so it may restart it; `tests/system/test_faults.py`
runs the short matrix against the FerretDB at PLAZA_MONGO_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "control")]

import httpx  # noqa: E402
import websockets  # noqa: E402
from machine_info import cpu_model  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from plaza.common.Quat import QuatT  # noqa: E402
from plaza.common.Transform import TransformT  # noqa: E402
from plaza.common.Vec3 import Vec3T  # noqa: E402
from plaza.protocol.ChatMessage import ChatMessageT  # noqa: E402
from plaza.protocol.Error import ErrorT  # noqa: E402
from plaza.protocol.MemberJoined import MemberJoinedT  # noqa: E402
from plaza.protocol.MemberLeft import MemberLeftT  # noqa: E402
from plaza.protocol.Message import Message  # noqa: E402
from plaza.protocol.Move import MoveT  # noqa: E402
from plaza.protocol.StateChanged import StateChangedT  # noqa: E402
from system.cluster import Cluster, Relay, build_relay, free_port, running_cluster  # noqa: E402
from system.player import (  # noqa: E402
    Player,
    encode,
    reconnect_delay,
    refusal_wait_seconds,
    text,
)

#: Jitter and made-up positions, not secrets.
_JITTER = random.Random()  # noqa: S311
#: A member connected from before a line was sent until this long after its
#: echo must have received it (the relay writes a room's events to every
#: member in the same tick round).
PRESENT_GRACE_S = 2.0
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Fault matrix"


@dataclass(frozen=True)
class Sizes:
    rooms: int = 4
    per_room: int = 6
    warmup_s: float = 3.0
    after_s: float = 12.0
    move_interval_s: float = 0.1
    chat_interval_s: float = 0.8
    state_interval_s: float = 1.6
    churn_interval_s: float = 3.0
    #: Deadline for every player to be back in its room after a fault.
    recover_deadline_s: float = 60.0


SHORT = Sizes(rooms=3, per_room=4, warmup_s=2.0, after_s=8.0)


@dataclass
class Conn:
    """One connection's view: the Welcome and every sequenced event after it."""

    relay_id: str
    opened: float
    welcome_seq: int
    welcome_state: dict[str, bytes]
    #: The room state as this connection knows it (Welcome + StateChanged).
    state: dict[str, bytes] = field(default_factory=dict)
    events: list[tuple[int, str]] = field(default_factory=list)  # (sequence, identity)
    chats: list[str] = field(default_factory=list)
    closed: float = 0.0
    close_code: int | None = None
    gaps: int = 0
    repeats: int = 0


@dataclass
class Agent:
    """A player with its traffic loop and everything it saw."""

    player: Player
    room: str
    controls: list[str]
    churn: bool
    sizes: Sizes
    conns: list[Conn] = field(default_factory=list)
    #: line → (sequence, send time, echo time)
    acked: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    sent: dict[str, float] = field(default_factory=dict)
    state_acked: int = 0
    state_regressions: int = 0
    close_codes: Counter[str] = field(default_factory=Counter)
    join_errors: Counter[str] = field(default_factory=Counter)
    relay_errors: Counter[str] = field(default_factory=Counter)
    _seen: int = 0
    _ctl: int = 0
    _n: int = 0
    _pending_state: dict[int, int] = field(default_factory=dict)  # request id → value

    @property
    def key(self) -> str:
        return f"pos-{self.player.name}"

    @property
    def conn(self) -> Conn | None:
        return self.conns[-1] if self.conns and self.conns[-1].closed == 0.0 else None

    def harvest(self) -> None:
        """Fold what arrived since the last call into the current connection."""
        p, c = self.player, self.conn
        envs = p.received
        for env in envs[self._seen :]:
            m = env.message
            if c is None:
                break
            seq, ident = 0, ""
            if isinstance(m, ChatMessageT):
                line = text(m.text)
                seq, ident = m.sequence, f"chat:{line}"
                c.chats.append(line)
                if text(m.userId) == p.user_id and line in self.sent and line not in self.acked:
                    self.acked[line] = (m.sequence, self.sent[line], time.monotonic())
            elif isinstance(m, StateChangedT):
                e = m.entry
                seq, ident = m.sequence, f"state:{text(e.key) if e else ''}:{e.version if e else 0}"
                if e is not None and m.deleted:
                    c.state.pop(text(e.key), None)
                elif e is not None:
                    c.state[text(e.key)] = bytes(e.value or [])
                value = self._pending_state.pop(m.requestId, None)
                if value is not None and e is not None and text(e.key) == self.key:
                    self.state_acked = max(self.state_acked, value)
            elif isinstance(m, MemberJoinedT):
                seq = m.sequence
                ident = f"joined:{text(m.member.userId) if m.member else ''}"
            elif isinstance(m, MemberLeftT):
                seq, ident = m.sequence, f"left:{text(m.userId)}"
            elif isinstance(m, ErrorT):
                self.relay_errors[f"Error {m.code}"] += 1
            if seq:
                last = c.events[-1][0] if c.events else c.welcome_seq
                if seq <= last:
                    c.repeats += 1
                elif seq != last + 1:
                    c.gaps += 1
                c.events.append((seq, ident))
        self._seen = len(envs)
        if c is not None and p.close_code is not None:
            c.closed, c.close_code = time.monotonic(), p.close_code
            self.close_codes[str(p.close_code)] += 1

    async def connect(self, http: httpx.AsyncClient, deadline: float) -> None:
        """Join the room and open the relay, as docs/protocol.md §8 says."""
        p = self.player
        attempt = 0
        while True:
            hint: float | None = None
            try:
                p.control_url = self.controls[self._ctl % len(self.controls)]
                await p.join(http, room=self.room)
                self._seen = 0
                welcome = await p.connect()
                break
            except httpx.HTTPStatusError as exc:
                self.join_errors[f"join {exc.response.status_code}"] += 1
                hint = refusal_wait_seconds(exc.response)
            except httpx.HTTPError as exc:
                self.join_errors[f"join {type(exc).__name__}"] += 1
                self._ctl += 1  # this control plane does not answer: the other one
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                code = p.close_code
                self.join_errors[
                    f"connect {code}" if code else f"connect {type(exc).__name__}"
                ] += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{p.name} not back in {self.room} by the deadline")
            await asyncio.sleep(reconnect_delay(attempt, hint))  # docs/protocol.md §8
            attempt += 1
        assert p.joined is not None
        if p.joined.room_id != self.room:
            raise RuntimeError(f"{p.name} joined {p.joined.room_id}, not {self.room}")
        snap = welcome.snapshot
        state = {text(e.key): bytes(e.value or []) for e in (snap.state or [])} if snap else {}
        seq = snap.sequence if snap else 0
        own = state.get(self.key)
        if self.conns and self.state_acked and (own is None or int(own) < self.state_acked):
            self.state_regressions += 1
        self.conns.append(Conn(p.joined.relay_id, time.monotonic(), seq, state, dict(state)))

    async def run(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        p, s = self.player, self.sizes
        next_chat = next_state = time.monotonic() + _JITTER.uniform(0, s.chat_interval_s)
        next_churn = time.monotonic() + s.churn_interval_s * _JITTER.uniform(0.5, 1.5)
        while not stop.is_set():
            self.harvest()
            if p.close_code is not None or self.conn is None:
                await self.connect(http, time.monotonic() + s.recover_deadline_s)
                continue
            now = time.monotonic()
            try:
                await self._move()
                if now >= next_chat:
                    self._n += 1
                    line = f"{p.name}#{self._n}"
                    self.sent[line] = now
                    await p.chat(line)
                    next_chat = now + s.chat_interval_s
                if now >= next_state:
                    value = self._n + 1
                    rid = await p.set_state(self.key, str(value).encode())
                    self._pending_state[rid] = value
                    next_state = now + s.state_interval_s
                if self.churn and now >= next_churn:
                    await p.close()
                    self.harvest()
                    self._ctl += 1
                    next_churn = now + s.churn_interval_s
                    continue
            except websockets.ConnectionClosed:
                pass  # the reader records the close; harvest() folds it in
            await asyncio.sleep(s.move_interval_s)

    async def _move(self) -> None:
        assert self.player.ws is not None
        t = TransformT()
        t.position, t.rotation, t.velocity = Vec3T(), QuatT(), Vec3T()
        t.position.x, t.position.z = _JITTER.uniform(0, 50), _JITTER.uniform(0, 50)
        t.rotation.w = 1.0
        mv = MoveT()
        mv.transform = t
        mv.clientTimeMs = int(time.time() * 1000)
        await self.player.ws.send(encode(Message.Move, mv))


@dataclass
class Outcome:
    fault: str
    players: int
    disconnected: int
    acked: int
    unacked: int
    lost_present: int
    history_lost: int
    state_lost: int
    gaps: int
    repeats: int
    seq_back: int
    seq_reused: int
    dup_deliveries: int
    dup_history: int
    recovery_s: float
    seen: Counter[str]
    notes: list[str] = field(default_factory=list)

    def must_be_zero(self) -> dict[str, int]:
        return {
            "lost_present": self.lost_present,
            "history_lost": self.history_lost,
            "state_lost": self.state_lost,
            "gaps": self.gaps,
            "repeats": self.repeats,
            "seq_back": self.seq_back,
            "seq_reused": self.seq_reused,
            "dup_deliveries": self.dup_deliveries,
            "dup_history": self.dup_history,
        }


# --- faults ----------------------------------------------------------------
FaultFn = Callable[["Rig"], Awaitable[None]]


@dataclass
class Rig:
    cluster: Cluster
    agents: list[Agent]
    ferret: Ferret | None
    victim: str = ""
    #: Restarts the fault scheduled; awaited before the cluster stops.
    background: list[asyncio.Task[None]] = field(default_factory=list)

    def later(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            await coro

        self.background.append(asyncio.get_running_loop().create_task(run()))


def _victim(rig: Rig) -> str:
    """The relay hosting the most players."""
    counts = Counter(a.player.joined.relay_id for a in rig.agents if a.player.joined)
    return counts.most_common(1)[0][0]


def _live_relay(cluster: Cluster, relay_id: str) -> Relay:
    """The running process of a relay id (a restarted relay is a new entry)."""
    return next(r for r in cluster.relays if r.relay_id == relay_id and r.process.alive())


def _control_urls(cluster: Cluster) -> list[str]:
    """The live control planes' URLs (a restarted one keeps its port)."""
    return sorted({c.url for c in cluster.controls if c.process.alive()})


async def _restart_relay_later(rig: Rig, relay_id: str, after: float) -> None:
    """As a StatefulSet would: the same relay id, a new incarnation."""
    await asyncio.sleep(after)
    await asyncio.to_thread(rig.cluster.start_relay, relay_id)


async def relay_kill9(rig: Rig) -> None:
    rig.victim = _victim(rig)
    relay = _live_relay(rig.cluster, rig.victim)
    relay.process.kill()
    rig.later(_restart_relay_later(rig, rig.victim, 3.0))


async def relay_sigterm(rig: Rig) -> None:
    rig.victim = _victim(rig)
    relay = _live_relay(rig.cluster, rig.victim)
    assert relay.process.proc is not None
    relay.process.proc.send_signal(signal.SIGTERM)

    async def restart() -> None:
        assert relay.process.proc is not None
        await asyncio.to_thread(relay.process.proc.wait, 30)
        await _restart_relay_later(rig, rig.victim, 1.0)

    rig.later(restart())


async def redis_restart(rig: Rig) -> None:
    await asyncio.to_thread(rig.cluster.stop_redis)
    await asyncio.to_thread(rig.cluster.start_redis)


async def redis_pause(rig: Rig) -> None:
    assert rig.cluster.redis is not None
    assert rig.cluster.redis.proc is not None
    pid = rig.cluster.redis.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(10)
    finally:
        os.kill(pid, signal.SIGCONT)


async def control_kill9(rig: Rig) -> None:
    # Not the first one: the relays fetch the JWKS from it (tests/system/cluster.py).
    first = rig.cluster.controls[0]
    victim = next(c for c in reversed(rig.cluster.controls) if c.process.alive() and c is not first)
    victim.process.kill()

    async def restart() -> None:
        await asyncio.sleep(3)
        await asyncio.to_thread(rig.cluster.start_control, victim.port)

    rig.later(restart())


async def ferretdb_restart(rig: Rig) -> None:
    if rig.ferret is None:
        raise RuntimeError("FerretDB restart needs the script's own FerretDB (not --mongo-url)")
    await asyncio.to_thread(rig.ferret.restart)


FAULTS: dict[str, tuple[str, FaultFn]] = {
    "relay-kill9": ("relay kill -9", relay_kill9),
    "relay-sigterm": ("relay SIGTERM", relay_sigterm),
    "redis-restart": ("Redis restart (SIGTERM, AOF always)", redis_restart),
    "redis-pause": ("Redis paused 10 s (SIGSTOP/SIGCONT)", redis_pause),
    "control-kill9": ("control plane kill -9", control_kill9),
    "ferretdb-restart": ("FerretDB restart", ferretdb_restart),
}
SHORT_FAULTS = ["relay-kill9", "redis-pause", "control-kill9"]


# --- FerretDB through scripts/services.sh ------------------------------------
@dataclass
class Ferret:
    """A FerretDB of the script's own, started by scripts/services.sh."""

    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.env['PLAZA_MONGO_PORT']}/"

    def _services(self, *args: str) -> None:
        script = str(REPO / "scripts" / "services.sh")
        subprocess.run(  # noqa: S603 - our own script, fixed arguments
            ["bash", script, *args],  # noqa: S607 - bash from PATH, as make does
            env=self.env,
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def restart(self) -> None:
        self._services("restart-ferretdb")


@contextlib.contextmanager
def own_ferretdb(data_dir: Path) -> Iterator[Ferret]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")}
    env.update(
        PLAZA_DATA_DIR=str(data_dir),
        PLAZA_REDIS_PORT=str(free_port()),
        PLAZA_MONGO_PORT=str(free_port()),
        PLAZA_FERRETDB_DEBUG_PORT=str(free_port()),
    )
    ferret = Ferret(env)
    ferret._services("start")
    try:
        yield ferret
    finally:
        ferret._services("stop")


# --- one fault ---------------------------------------------------------------
async def _all_back(
    agents: list[Agent], tasks: list[asyncio.Task[None]], since: float, deadline: float
) -> float:
    """Seconds from `since` until every agent has a line sent after `since` acked."""
    while True:
        for t in tasks:
            if t.done() and t.exception() is not None:
                raise RuntimeError("a player loop failed") from t.exception()
        done = [
            min((t for t in (v[2] for v in a.acked.values() if v[1] >= since)), default=0.0)
            for a in agents
        ]
        if all(done):
            return max(done) - since
        if time.monotonic() > deadline:
            missing = [a.player.name for a, d in zip(agents, done, strict=True) if not d]
            stats = [(a.player.name, len(a.sent), len(a.acked), len(a.conns)) for a in agents]
            raise TimeoutError(f"not back and chatting by the deadline: {missing} {stats}")
        await asyncio.sleep(0.2)


def _history(mongo_url: str, db: str, rooms: list[str]) -> dict[str, list[tuple[str, int]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url, serverSelectionTimeoutMS=10000)
    with client:
        out: dict[str, list[tuple[str, int]]] = {}
        for room in rooms:
            docs = client[db].chat.find({"room_id": room}, {"text": 1, "sequence": 1})
            out[room] = [(str(d["text"]), int(d["sequence"])) for d in docs]
        return out


async def _wait_history(
    cluster: Cluster, agents: list[Agent], deadline: float
) -> dict[str, list[tuple[str, int]]]:
    rooms = sorted({a.room for a in agents})
    want = {(a.room, line) for a in agents for line in a.acked}
    while True:
        hist = await asyncio.to_thread(_history, cluster.mongo_url, cluster.mongo_db, rooms)
        have = {(room, t) for room, items in hist.items() for t, _ in items}
        if want <= have or time.monotonic() > deadline:
            return hist
        await asyncio.sleep(0.5)


def _measure(
    name: str, agents: list[Agent], hist: dict[str, list[tuple[str, int]]], fault_at: float
) -> Outcome:
    by_room: dict[str, list[Agent]] = {}
    for a in agents:
        by_room.setdefault(a.room, []).append(a)
    lost_present = dup_deliveries = gaps = repeats = seq_back = seq_reused = 0
    state_lost = sum(a.state_regressions for a in agents)
    seen: Counter[str] = Counter()
    for a in agents:
        seen.update(a.close_codes)
        seen.update(a.join_errors)
        seen.update(a.relay_errors)
        gaps += sum(c.gaps for c in a.conns)
        repeats += sum(c.repeats for c in a.conns)
        top = 0
        for c in a.conns:
            if c.welcome_seq < top:
                seq_back += 1
            top = max([top, c.welcome_seq, *(s for s, _ in c.events)])
        got = Counter(line for c in a.conns for line in c.chats)
        dup_deliveries += sum(n - 1 for n in got.values() if n > 1)
    for members in by_room.values():
        names: dict[int, set[str]] = {}
        for a in members:
            for c in a.conns:
                for s, ident in c.events:
                    names.setdefault(s, set()).add(ident)
        seq_reused += sum(1 for ids in names.values() if len(ids) > 1)
        for sender in members:
            for line, (_, sent, echoed) in sender.acked.items():
                for m in members:
                    if m is sender:
                        continue
                    present = any(
                        c.opened < sent and (c.closed == 0.0 or c.closed > echoed + PRESENT_GRACE_S)
                        for c in m.conns
                    )
                    if present and not any(line in c.chats for c in m.conns):
                        lost_present += 1
    history_lost = dup_history = 0
    for room, members in by_room.items():
        stored = Counter(t for t, _ in hist.get(room, []))
        dup_history += sum(n - 1 for n in stored.values() if n > 1)
        history_lost += sum(1 for a in members for line in a.acked if line not in stored)
    # Closed by the fault, not by the player's own leave (churn closes with 1000).
    disconnected = sum(
        1 for a in agents if any(c.closed > fault_at and c.close_code != 1000 for c in a.conns)
    )
    return Outcome(
        fault=name,
        players=len(agents),
        disconnected=disconnected,
        acked=sum(len(a.acked) for a in agents),
        unacked=sum(len(a.sent) - len(a.acked) for a in agents),
        lost_present=lost_present,
        history_lost=history_lost,
        state_lost=state_lost,
        gaps=gaps,
        repeats=repeats,
        seq_back=seq_back,
        seq_reused=seq_reused,
        dup_deliveries=dup_deliveries,
        dup_history=dup_history,
        recovery_s=0.0,
        seen=seen,
    )


def _final_state(agents: list[Agent]) -> int:
    """Keys missing or behind in the members' final views (Welcome + changes)."""
    bad = 0
    for a in agents:
        view = a.conns[-1].state
        if view.get("topic") != b"faults":
            bad += 1
        for owner in agents:
            if owner.room != a.room or not owner.state_acked:
                continue
            value = view.get(owner.key)
            if value is None or int(value) < owner.state_acked:
                bad += 1
    return bad


@contextlib.contextmanager
def fault_cluster(relay_binary: Path, workdir: Path, sizes: Sizes) -> Iterator[Cluster]:
    """The Plaza every fault of a matrix runs on, one after the other."""
    workdir.mkdir(parents=True, exist_ok=True)
    with running_cluster(
        workdir, relay_binary, controls=2, relays=2, world_capacity=sizes.per_room * 2
    ) as cluster:
        yield cluster


async def _settle(cluster: Cluster) -> None:
    """Before a fault: both relays and both control planes live again."""
    deadline = time.monotonic() + 60
    while len(_control_urls(cluster)) < 2 or sum(r.process.alive() for r in cluster.relays) < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the cluster did not come back after the previous fault")
        await asyncio.sleep(0.2)
    await asyncio.to_thread(cluster.wait_relays_registered, 60)


async def run_fault(fault: str, cluster: Cluster, sizes: Sizes, ferret: Ferret | None) -> Outcome:
    """One fault under load, with players and rooms of its own; returns what was measured."""
    label, inject = FAULTS[fault]
    t0 = time.monotonic()
    await _settle(cluster)
    urls = _control_urls(cluster)
    agents = []
    for r in range(sizes.rooms):
        for i in range(sizes.per_room):
            n = r * sizes.per_room + i
            agents.append(
                Agent(
                    Player(urls[n % 2], f"{fault}-r{r}p{i}"),
                    f"{fault}-room-{r}",
                    [urls[n % 2], urls[(n + 1) % 2]],
                    churn=i == 0,
                    sizes=sizes,
                )
            )
    stop = asyncio.Event()
    t_up = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as http:
        for a in agents:
            await a.player.sign_in(http)
        deadline = time.monotonic() + 60
        await asyncio.gather(*(a.connect(http, deadline) for a in agents))
        for r in range(sizes.rooms):
            await agents[r * sizes.per_room + 1].player.set_state("topic", b"faults")
        tasks = [asyncio.create_task(a.run(http, stop)) for a in agents]
        rig = Rig(cluster, agents, ferret)
        try:
            await asyncio.sleep(sizes.warmup_s)
            fault_at = time.monotonic()
            await inject(rig)
            recovery = await _all_back(agents, tasks, fault_at, fault_at + sizes.recover_deadline_s)
            await asyncio.sleep(max(0.0, fault_at + sizes.after_s - time.monotonic()))
        finally:
            stop.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*rig.background)
        t_load = time.monotonic()
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise RuntimeError(f"{label}: a player loop failed: {errors[0]!r}") from errors[0]
        # Everyone connected again (a churner may be between two joins).
        for a in agents:
            a.harvest()
            if a.conn is None or a.player.close_code is not None:
                await a.connect(http, time.monotonic() + sizes.recover_deadline_s)
        for a in agents:
            await a.player.chat(f"{a.player.name}#fin")
            a.sent[f"{a.player.name}#fin"] = time.monotonic()
        fins = {
            a.room: {f"{b.player.name}#fin" for b in agents if b.room == a.room} for a in agents
        }
        end = time.monotonic() + 20
        while time.monotonic() < end:
            for a in agents:
                a.harvest()
            if all(fins[a.room] <= set(a.conns[-1].chats) for a in agents):
                break
            await asyncio.sleep(0.2)
        hist = await _wait_history(cluster, agents, time.monotonic() + 30)
        t_checked = time.monotonic()
        await asyncio.gather(*(a.player.close() for a in agents))
    print(
        f"{label}: settle {t_up - t0:.1f} s, load {t_load - t_up:.1f} s, "
        f"final lines and history {t_checked - t_load:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    out = _measure(label, agents, hist, fault_at)
    out.recovery_s = recovery
    out.state_lost += _final_state(agents)
    if rig.victim:
        out.notes.append(f"victim {rig.victim}")
    return out


# --- report ------------------------------------------------------------------
HEADER = (
    "| fault | players (disconnected) | chat acked (unacked) | lost for members present "
    "| missing from history | room state lost | sequence gaps / repeats / went back / reused "
    "| duplicate deliveries (history) | recovery | what clients saw |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def row(o: Outcome) -> str:
    seen = ", ".join(f"{k} x{v}" for k, v in sorted(o.seen.items())) or "nothing"
    return (
        f"| {o.fault} | {o.players} ({o.disconnected}) | {o.acked} ({o.unacked}) "
        f"| **{o.lost_present}** | **{o.history_lost}** | **{o.state_lost}** "
        f"| {o.gaps} / {o.repeats} / {o.seq_back} / {o.seq_reused} "
        f"| {o.dup_deliveries} ({o.dup_history}) | {o.recovery_s:.1f} s | {seen} |"
    )


def table(outcomes: list[Outcome]) -> str:
    return "\n".join([HEADER, *(row(o) for o in outcomes)])


def machine() -> str:
    cpu = cpu_model()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    py = platform.python_version()
    return (
        f"`nproc` = {os.cpu_count()}, CPU {cpu}, Python {py}; load average before the run: {load}"
    )


def write_docs(section: str) -> None:
    """Replace the `## Fault matrix` section (up to the next `## ` heading), or append it."""
    doc = DOCS.read_text()
    start = re.search(rf"^{re.escape(SECTION)}\s*$", doc, flags=re.M)
    if start is None:
        DOCS.write_text(doc.rstrip("\n") + "\n\n" + section)
        return
    nxt = re.search(r"^## ", doc[start.end() :], flags=re.M)
    end = start.end() + nxt.start() if nxt else len(doc)
    DOCS.write_text(doc[: start.start()] + section + ("\n" + doc[end:] if nxt else ""))


async def run_matrix(
    faults: list[str], sizes: Sizes, relay_binary: Path, workdir: Path, ferret: Ferret | None
) -> list[Outcome]:
    outcomes = []
    if ferret is not None:
        os.environ["PLAZA_MONGO_URL"] = ferret.url  # running_cluster reads it
    with fault_cluster(relay_binary, workdir / "cluster", sizes) as cluster:
        for fault in faults:
            started = time.monotonic()
            out = await run_fault(fault, cluster, sizes, ferret)
            print(f"{row(out)}  ({time.monotonic() - started:.0f} s)", flush=True)
            outcomes.append(out)
    return outcomes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--short", action="store_true", help="relay kill -9, Redis pause, control plane kill"
    )
    ap.add_argument("--faults", help=f"comma-separated subset of {','.join(FAULTS)}")
    ap.add_argument(
        "--write-docs", action="store_true", help="rewrite docs/benchmarks.md '## Fault matrix'"
    )
    args = ap.parse_args()
    faults = SHORT_FAULTS if args.short else list(FAULTS)
    if args.faults:
        faults = [f.strip() for f in args.faults.split(",")]
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            ap.error(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
    sizes = SHORT if args.short else Sizes()
    mach = machine()
    started = time.monotonic()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="plaza-faults-") as tmp:
        work = Path(tmp)
        relay = build_relay(work)
        with own_ferretdb(work / "services") as ferret:
            outcomes = asyncio.run(run_matrix(faults, sizes, relay, work, ferret))
    took = time.monotonic() - started
    body = table(outcomes)
    print(body)
    zero = all(not any(o.must_be_zero().values()) for o in outcomes)
    if args.write_docs:
        cmd = "uv run python scripts/faults.py" + (" --short" if args.short else "")
        write_docs(_section(outcomes, cmd, mach, when, took, sizes))
    return 0 if zero else 1


def _verdict(outcomes: list[Outcome]) -> str:
    bad = [
        f"{o.fault}: " + ", ".join(f"{k} {v}" for k, v in o.must_be_zero().items() if v)
        for o in outcomes
        if any(o.must_be_zero().values())
    ]
    if not bad:
        return "Every must-be-zero count is 0 in this run."
    return "Must-be-zero counts that were not 0 in this run: " + "; ".join(bad) + "."


def _section(
    outcomes: list[Outcome], cmd: str, mach: str, when: str, took: float, sizes: Sizes
) -> str:
    body = table(outcomes)
    return f"""{SECTION}

Generated by `{cmd} --write-docs` (`make faults`) on {when}; whole run {took:.0f} s.
Machine: {mach}.

One Plaza on loopback for the whole matrix, the faults one after the
other, each with players and rooms of its own: 2 relays (500 ms heartbeat),
2 control planes, a private Redis (AOF with `appendfsync always`, no RDB
snapshots, as `tests/system/cluster.py` runs it) and a FerretDB of the
script's own (`scripts/services.sh`). Per fault:
- {sizes.rooms} rooms of {sizes.per_room} players; each player moves every \
{sizes.move_interval_s * 1000:.0f} ms, sends a numbered chat line every \
{sizes.chat_interval_s} s and sets its own state key every {sizes.state_interval_s} s;
- one player per room leaves and rejoins every {sizes.churn_interval_s:.0f} s, \
through the control planes in turn;
- the fault comes after {sizes.warmup_s:.0f} s of traffic, which goes on until \
{sizes.after_s:.0f} s after the fault;
- players recover as docs/protocol.md §8 says: rejoin the same room through a
  control plane, the reconnect rule's backoff, the other control plane when
  one does not answer.

Columns (bold: must be 0):
- **lost for members present**: (line, member) pairs where the member was
  connected to the room from before the line was sent until {PRESENT_GRACE_S:.0f} s after
  its sender saw the relay's echo, and never received it;
- **missing from history**: echoed lines not in the room's MongoDB `chat`
  records (read after the `control` consumer caught up, ≤ 30 s);
- **room state lost**: a room key set at the start missing from a member's
  final view, a player's key missing from a room member's final view or below
  the value its owner last saw acknowledged, or a rejoin Welcome whose own
  key is below that value;
- **sequence**: per connection, events not following the previous one by
  exactly 1 (gaps) or at/below it (repeats); Welcomes whose sequence is below
  one the member already saw (went back); sequence numbers that name two
  different events in one room (reused);
- **duplicate deliveries**: a line received twice by one member (in
  brackets: stored twice in history);
- **recovery**: fault → every player in its room with a line sent after the
  fault acknowledged; **what clients saw**: close codes, join failures
  (`join <status>`, `join ConnectError`) and failed relay connects
  (`connect <close code>`), relay `Error`s.

{body}

{_verdict(outcomes)}

What each fault is, exactly:
- **relay kill -9**: SIGKILL to the relay hosting the most players; the same
  relay id is started again 3 s later (a new incarnation). Players see 1006
  and rejoin; the control plane moves their rooms once the heartbeat expired
  (3 x 500 ms), so joins meanwhile get tickets for the dead relay
  (`connect ConnectionRefusedError`).
- **relay SIGTERM**: the relay drains (DisconnectNotice, 4006, state saved)
  and exits; started again 1 s after it exited. Until its last member left,
  the control plane still places the room there, so some rejoins get a
  ticket for it and find it gone (`connect ConnectionRefusedError`).
- **Redis restart**: SIGTERM to redis-server, started again on the same port
  and directory; with AOF `appendfsync always` every write it acknowledged
  is on disk, so it comes back with all its data (about 1 s away).
- **Redis paused 10 s**: SIGSTOP, 10 s, SIGCONT. Connected rooms keep running
  and their players keep chatting (relays buffer their events); joins need
  Redis, so they fail for the pause (503 with Retry-After): a player caught
  between two joins (the churning one) is back only after it, which makes
  the recovery up to the pause itself.
- **control plane kill -9**: SIGKILL to the second control plane, started
  again on its port 3 s later; clients whose join does not connect use the
  other one; the dead one's pending stream entries are claimed by the live
  one (`PLAZA_EVENTS_CLAIM_IDLE_MS` 2000 in these clusters).
- **FerretDB restart**: `scripts/services.sh restart-ferretdb` (SIGTERM, then
  start on the same port and data); the `control` consumer retries and
  catches up.
- **Network to Redis slowed**: not run. Slowing loopback needs `tc netem`
  (root, CAP_NET_ADMIN); the no-root way is a delaying TCP proxy in front of
  Redis, not built yet.

"Unacked" lines were sent while their connection was closing (mostly the
churning player's own leave, and the sockets of a killed relay): the sender
saw no echo, so it knows the line may not have been taken; they are not
counted as lost.

Known finding (kept as a non-strict xfail in `tests/system/test_faults.py`
because it depends on where the kill lands): after kill -9 a room reopens
from its relay's last periodic snapshot, written at most every 100 ms
(`relay-go/internal/redisbridge/states.go`), so a state key set in the last
≤ 100 ms before the crash can be lost (its `StateChanged` was delivered, the
snapshot never had it). Sequence numbers are not reused since decision 014:
a room restored from a periodic (not final) snapshot continues above a gap
of 2^20, so no number names two events and no Welcome goes back (before
it, this matrix found both in about half of its kill -9 runs). The chat
lines themselves are not lost (they reached every member present and the
history). docs/relay.md ("What can be lost") states the state window.
"""


if __name__ == "__main__":
    sys.exit(main())
