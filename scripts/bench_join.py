#!/usr/bin/env python3
"""Join-path benchmark: joins/s and p50/p99 at N concurrent clients against one
control plane process, and a bare Litestar endpoint on the same server in the
same run (the ratio says what the join path itself costs).

    source scripts/lib.sh && scripts/services.sh start
    .venv/bin/python scripts/bench_join.py --server both --clients 64 --seconds 10 \
        --out docs/control-benchmarks.md

W3r, the rejoin storm (``--workload w3r``): players that hold session tokens
sit in their rooms on one relay; a second relay starts, the first is killed
(SIGKILL) and every player rejoins its room through the control plane as a
client would (same session token, its room and relay session id, a refusal
retried as docs/protocol.md §8 says: after the body's ``retry_after_ms`` (else
``Retry-After``) plus uniform(0, 250 ms)). Reported: rejoins/s over time, request→Welcome p50/p99, 503s,
time until every player is back in its room with its state and sequence, and
the control plane's CPU per rejoin against a bare Litestar request measured in
the same run:

    .venv/bin/python scripts/bench_join.py --workload w3r --players 200 --seconds 5

W3r runs with the control plane's default join pacing unless told:
``--join-rate N --join-burst B`` set ``PLAZA_JOIN_RATE_PER_SECOND`` and
``PLAZA_JOIN_BURST`` (the admission schedule), ``--max-in-flight N``
``PLAZA_JOIN_MAX_IN_FLIGHT``; the old gate alone is ``--join-rate 0
--max-in-flight 64``, no pacing at all ``--join-rate 0 --max-in-flight 0``.
W3 (join throughput) runs unpaced (``--join-rate 0``) unless ``--join-rate``
is given.

W3r starts its own Redis, control plane and relays (tests/system/cluster.py;
it builds the relay) and uses the FerretDB at PLAZA_MONGO_URL.

Needs the local Redis and FerretDB (PLAZA_REDIS_URL, PLAZA_MONGO_URL). Everything
it creates lives under a fresh Redis prefix and MongoDB database, removed at the
end. The load generator is a lean keep-alive HTTP/1.1 client on raw asyncio
streams, in this process; the servers run in their own processes. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "control"))

import msgspec  # noqa: E402
from litestar import Litestar, post  # noqa: E402


# --- the bare endpoint -------------------------------------------------------
class BareIn(msgspec.Struct, forbid_unknown_fields=True):
    world_id: str


class BareOut(msgspec.Struct):
    room_id: str
    ticket: str


@post("/bare", status_code=200)
async def bare(data: BareIn) -> BareOut:
    return BareOut(room_id=data.world_id + ".1", ticket="x" * 400)


def bare_app() -> Litestar:
    """Same framework, same JSON in and out, no auth, no Redis, no signing."""
    return Litestar(route_handlers=[bare], openapi_config=None)


# --- servers -----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} not ready")


def start_control(env: dict[str, str], port: int, server: str) -> subprocess.Popen[bytes]:
    e = dict(env, PLAZA_PORT=str(port), PLAZA_SERVER=server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "plaza_control", "serve"],
        env=e,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
    return proc


def start_bare(port: int, server: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'scripts'}:{REPO / 'control'}")
    if server == "granian":
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--factory",
            "--no-access-log",
            "--loop",
            "auto",
            "bench_join:bare_app",
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "bench_join:bare_app",
        ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/bare", proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- load generator ----------------------------------------------------------
class Result(msgspec.Struct):
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    #: CPU time of the server's whole process tree per request (user + system):
    #: robust against other load on a shared machine, unlike throughput.
    cpu_ms: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def _client(
    port: int,
    requests: list[bytes],
    start: int,
    step: int,
    stop_at: float,
    lat: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = start
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += step
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    tree = {pid}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    return sum(times.get(p, 0.0) for p in tree)


async def run_load(
    port: int, requests: list[bytes], clients: int, seconds: float, warmup: float, server_pid: int
) -> Result:
    if warmup:
        await asyncio.gather(
            *(
                _client(port, requests, -1 - c, -clients, time.perf_counter() + warmup, [], [])
                for c in range(clients)
            )
        )
    lat: list[float] = []
    errors: list[int] = []
    cpu0 = tree_cpu_seconds(server_pid)
    t0 = time.perf_counter()
    await asyncio.gather(
        *(_client(port, requests, c, clients, t0 + seconds, lat, errors) for c in range(clients))
    )
    elapsed = time.perf_counter() - t0
    cpu = tree_cpu_seconds(server_pid) - cpu0
    q = statistics.quantiles(lat, n=100)
    return Result(len(lat), len(errors), elapsed, q[49] * 1000, q[98] * 1000, cpu / len(lat) * 1000)


def http_post(path: str, body: bytes, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


# --- setup -------------------------------------------------------------------
def bench_env(key_dir: Path, **extra: str) -> dict[str, str]:
    """A control plane's environment for one benchmark round: the local Redis and
    FerretDB under a fresh prefix and database (``cleanup`` removes them), keys
    from ``key_dir``, quiet logs, then ``extra``."""
    tag = secrets.token_hex(3)
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(REPO / "control"),
            "PLAZA_REDIS_URL": os.environ.get("PLAZA_REDIS_URL", "redis://127.0.0.1:16379/0"),
            "PLAZA_MONGO_URL": os.environ.get("PLAZA_MONGO_URL", "mongodb://127.0.0.1:27217/"),
            "PLAZA_REDIS_PREFIX": f"bench{tag}:",
            "PLAZA_MONGO_DB": f"bench_{tag}",
            "PLAZA_KEY_DIR": str(key_dir),
            "PLAZA_SESSION_SECRET": secrets.token_urlsafe(32),
            "PLAZA_ACCESS_LOG": "false",
            "PLAZA_LOG_LEVEL": "warning",
            **extra,
        }
    )
    return env


async def prepare(env: dict[str, str], users: int) -> list[str]:
    import redis.asyncio as aioredis

    from plaza_control import codec
    from plaza_control.container import Services
    from plaza_control.models import ApiKey, RelayInfo, Role, WorldSettings
    from plaza_control.observability import Metrics
    from plaza_control.settings import Settings

    settings = Settings.from_env(env)
    svc = Services(settings, Metrics())
    await svc.start()
    admin = ApiKey(id="bench", name="bench", role=Role.ADMIN, hash="", created_at_ms=0)
    await svc.worlds.create(admin, "bench", "Bench", WorldSettings(room_capacity=50))
    now = int(time.time() * 1000)
    r: aioredis.Redis = svc.redis
    for n in range(4):
        info = RelayInfo(
            relay_id=f"relay-{n}",
            public_url=f"ws://127.0.0.1:{18100 + n}/ws",
            region="local",
            state="ready",
            capacity_connections=1_000_000,
            connections=0,
            rooms=0,
            cpu_percent=0.0,
            egress_bytes_per_second=0,
            sent_at_ms=now,
            build="bench",
            started_at_ms=now,
        )
        await r.set(svc.keyspace.relay_hb(info.relay_id), codec.encode_heartbeat(info), px=600_000)
        await r.sadd(svc.keyspace.relays, info.relay_id)
    t = int(time.time())
    tokens = [svc.sessions.issue(f"u_{i:020d}", "Bench", t)[0] for i in range(users)]
    await svc.close()
    return tokens


async def cleanup(env: dict[str, str]) -> None:
    import redis.asyncio as aioredis
    from pymongo import AsyncMongoClient

    r = aioredis.Redis.from_url(env["PLAZA_REDIS_URL"])
    keys = [k async for k in r.scan_iter(env["PLAZA_REDIS_PREFIX"] + "*", count=1000)]
    for i in range(0, len(keys), 500):
        await r.delete(*keys[i : i + 500])
    await r.aclose()
    m: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(env["PLAZA_MONGO_URL"])
    await m.drop_database(env["PLAZA_MONGO_DB"])
    await m.close()


# --- profile -------------------------------------------------------------------
def start_py_spy(args: argparse.Namespace, pid: int, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` and its children (the server's workers) for
    ``seconds``, collapsed stacks (``--format raw``) into ``args.py_spy``."""
    exe = shutil.which(args.py_spy_bin) or args.py_spy_bin
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            "200",
            "--duration",
            str(max(1, round(seconds))),
            "--format",
            "raw",
            "--output",
            str(args.py_spy),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


#: Where a sample's leaf frame is, by path fragment, first match wins. C code
#: (msgspec, hiredis, the Ed25519 signature) counts at the Python line calling it.
PROFILE_BUCKETS = (
    (
        "ticket + session tokens",
        ("plaza_control/tokens", "plaza_control/signing_keys", "cryptography"),
    ),
    ("redis-py + hiredis", ("redis/", "hiredis")),
    ("Litestar", ("litestar/",)),
    ("uvicorn / HTTP parsing", ("uvicorn/", "httptools", "h11/")),
    ("logging", ("structlog", "logging/", "plaza_control/ecslog")),
    ("metrics", ("prometheus_client",)),
    ("msgspec", ("msgspec",)),
    ("event loop", ("asyncio/", "uvloop", "selectors")),
    ("plaza_control (other)", ("plaza_control/",)),
)


def _frame_file(frame: str) -> str:
    """``func (path/file.py:12)`` → ``path/file.py``."""
    inner = frame[frame.rfind("(") + 1 : frame.rfind(")")] if "(" in frame else frame
    return inner.rsplit(":", 1)[0]


#: Steps of a join request, by the function that runs them; a sample counts for
#: the deepest step on its stack (the session check runs inside Litestar's
#: dependency resolution, and counts as the session check).
PROFILE_STEPS = (
    ("session check (HS256 token)", ("player_session",)),
    ("rate limits + config/ban/mute read (one pipeline)", ("RedisJoinGate.admit",)),
    ("relay list (cached per process)", ("JoinService._live_relays",)),
    ("join.lua (EVALSHA)", ("RedisAllocator.join",)),
    ("ticket (Ed25519)", ("TicketMinter.mint",)),
    ("rest of JoinService.join", ("JoinService.join",)),
    ("rest of the route handler", ("JoinController.join",)),
    ("Litestar: dependencies (task group), body, signature", ("KwargsModel.",)),
    ("Litestar: response encoding and sending", ("ASGIResponse.", "to_response")),
    ("Litestar: routing, middleware, exceptions", ("Litestar.__call__",)),
    ("uvicorn: HTTP parsing, ASGI cycle", ("HttpToolsProtocol.", "RequestResponseCycle.")),
)


def profile_summary(raw: str) -> str:
    """Markdown tables: samples by step of the join request (deepest step on the
    stack), and by where the leaf frame is (the code that was running)."""
    buckets: dict[str, int] = {}
    steps: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        leaf = _frame_file(frames[-1])
        name = next((b for b, parts in PROFILE_BUCKETS if any(p in leaf for p in parts)), "other")
        buckets[name] = buckets.get(name, 0) + count
        step = "outside any request (event loop, background tasks)"
        for f in reversed(frames):
            func = f.split(" (")[0]
            found = next(
                (n for n, keys in PROFILE_STEPS if any(func.startswith(k) for k in keys)), None
            )
            if found is not None:
                step = found
                break
        steps[step] = steps.get(step, 0) + count
    if not total:
        return "no samples"
    out = [f"{total} samples", "", "| step of the join request | share |", "|---|---:|"]
    order = [n for n, _ in PROFILE_STEPS] + ["outside any request (event loop, background tasks)"]
    out += [f"| {n} | {100 * steps[n] / total:.1f} % |" for n in order if n in steps]
    out += ["", "| where the running code is (leaf frame) | share |", "|---|---:|"]
    for name, n in sorted(buckets.items(), key=lambda kv: -kv[1]):
        out.append(f"| {name} | {100 * n / total:.1f} % |")
    return "\n".join(out)


# --- W3r: the rejoin storm -----------------------------------------------------
class Rejoin(msgspec.Struct):
    """One player's way back after its relay died."""

    lost_at: float = 0.0  # when its connection closed (perf_counter)
    welcome_at: float = 0.0  # 0: never back
    request_ms: float = 0.0  # the successful join request → its Welcome
    join_ms: float = 0.0  # of which the join request (HTTP)
    attempts: int = 0
    same_room: bool = False
    state_kept: bool = False
    sequence_kept: bool = False


class StormResult(msgspec.Struct):
    players: int
    back: int
    #: SIGKILL → the last player's Welcome (s).
    all_back_s: float
    #: Successful join request → Welcome, over players (ms).
    p50_ms: float
    p99_ms: float
    #: Of that, the join request alone (HTTP round trip, ms).
    join_p50_ms: float
    join_p99_ms: float
    #: SIGKILL → Welcome, over players (s).
    back_p50_s: float
    back_p99_s: float
    join_requests: int
    http_503: int
    #: 503s that carried a wait (``retry_after_ms``, else ``Retry-After``): the
    #: client waited that long plus uniform(0, 250 ms).
    retry_after: int
    #: Failures that were retried, by kind (``http_<status>``, ``dial``).
    retried: dict[str, int]
    same_room: int
    state_kept: int
    sequence_kept: int
    #: (second since the kill, Welcomes in that second, 503s in that second).
    timeline: list[tuple[int, int, int]]
    #: The control plane's CPU from the kill to the last Welcome per join request.
    cpu_ms_per_join: float
    #: CPU seconds of this process (the load generator) over the same span: near
    #: ``all_back_s``, the load generator, not the system, set the pace.
    loadgen_cpu_s: float = 0.0


async def _storm_player(
    p: Any,
    http: Any,
    state: Rejoin,
    t_kill: float,
    deadline: float,
    counts: dict[str, int],
    rejected: list[float],
) -> None:
    """Wait for the relay to drop ``p``, then rejoin as docs/protocol.md §8 says:
    the same session token, its room and its relay session; a refusal with a
    wait (body ``retry_after_ms``, preferred, else ``Retry-After`` seconds)
    retried after that wait plus uniform(0, 250 ms); a failure without one
    (a dial, a ticket for the dead relay, an HTTP error) after uniform(0,
    min(10 s, 250 ms x 2^n)), n counting such attempts since the kill."""

    import httpx
    import websockets

    from system.player import Joined, reconnect_delay, refusal_wait_seconds, text

    assert p.welcome is not None
    assert p.joined is not None
    room = p.joined.room_id
    before_seq = int(p.welcome.snapshot.sequence) if p.welcome.snapshot else 0
    resume = text(p.welcome.sessionId)
    await p.wait_closed(within=max(1.0, deadline - time.perf_counter()))
    state.lost_at = time.perf_counter()
    body: dict[str, Any] = {"world_id": "lobby", "room_id": room}
    if resume:
        body["resume_session_id"] = resume
    unhinted = 0  # attempts without a server hint (the backoff exponent)

    def backoff() -> float:
        nonlocal unhinted
        unhinted += 1
        return reconnect_delay(unhinted - 1, None)

    while time.perf_counter() < deadline:
        state.attempts += 1
        t_req = time.perf_counter()
        counts["join_requests"] += 1
        try:
            resp = await http.post(
                f"{p.control_url}/v1/join",
                json=body,
                headers={"authorization": f"Bearer {p.session_token}"},
            )
        except httpx.HTTPError:
            counts["http_error"] = counts.get("http_error", 0) + 1
            await asyncio.sleep(backoff())
            continue
        if resp.status_code != 200:
            key = f"http_{resp.status_code}"
            counts[key] = counts.get(key, 0) + 1
            if resp.status_code == 503:
                rejected.append(time.perf_counter() - t_kill)
            hint = refusal_wait_seconds(resp)
            if hint is None:
                wait = backoff()
            else:
                counts["retry_after"] += 1
                wait = reconnect_delay(0, hint)
            await asyncio.sleep(wait)
            continue
        t_joined = time.perf_counter()
        b = resp.json()
        p.joined = Joined(b["room_id"], b["relay_id"], b["relay_url"], b["ticket"])
        try:
            welcome = await p.connect(within=5)
        except (OSError, TimeoutError, ConnectionError, websockets.WebSocketException):
            # The dead relay's heartbeat has not expired yet: the control plane
            # still names it, or the ticket was for it.
            counts["dial"] = counts.get("dial", 0) + 1
            await asyncio.sleep(backoff())
            continue
        state.welcome_at = time.perf_counter()
        state.request_ms = (state.welcome_at - t_req) * 1000
        state.join_ms = (t_joined - t_req) * 1000
        snap = welcome.snapshot
        state.same_room = snap is not None and text(snap.roomId) == room
        state.state_kept = snap is not None and any(
            text(e.key) == "w3r" for e in (snap.state or [])
        )
        state.sequence_kept = snap is not None and int(snap.sequence) >= before_seq
        return


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


async def rejoin_storm(
    cluster: Any, players: int, concurrency: int, deadline_s: float
) -> StormResult:
    """Seat ``players`` on relay-0, write one state key per room, start a second
    relay, kill relay-0 with SIGKILL and wait until every player is back."""
    import httpx

    from system.player import Player

    url = cluster.controls[0].url
    # A connection per player, as separate clients have (no pool queueing).
    limits = httpx.Limits(max_connections=players, max_keepalive_connections=players)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        crowd = [Player(url, f"w3r-{i}") for i in range(players)]
        gate = asyncio.Semaphore(concurrency)

        async def seat(p: Player) -> None:
            async with gate:
                await p.sign_in(http)
                await p.join_and_connect(http)

        await asyncio.gather(*(seat(p) for p in crowd))
        # State to find again: one key per room, written by its first member.
        rooms: dict[str, Player] = {}
        for p in crowd:
            assert p.joined is not None
            rooms.setdefault(p.joined.room_id, p)
        for p in rooms.values():
            await p.set_state("w3r", b"kept")
        await asyncio.sleep(1.0)  # the relay writes snapshots within 100 ms
        cluster.start_relay()
        cluster.wait_relays_registered()
        states = [Rejoin() for _ in crowd]
        counts = {"join_requests": 0, "retry_after": 0}
        rejected: list[float] = []
        control_pid = cluster.controls[0].process.proc.pid
        cpu0 = tree_cpu_seconds(control_pid)
        own0 = time.process_time()
        t_kill = time.perf_counter()
        cluster.relays[0].process.kill()
        deadline = t_kill + deadline_s
        await asyncio.gather(
            *(
                _storm_player(p, http, st, t_kill, deadline, counts, rejected)
                for p, st in zip(crowd, states, strict=True)
            )
        )
        cpu = tree_cpu_seconds(control_pid) - cpu0
        own = time.process_time() - own0
        for p in crowd:
            await p.close()
    back = [st for st in states if st.welcome_at]
    seconds = int(max((st.welcome_at - t_kill for st in back), default=0)) + 1
    timeline = [
        (
            sec,
            sum(1 for st in back if sec <= st.welcome_at - t_kill < sec + 1),
            sum(1 for t in rejected if sec <= t < sec + 1),
        )
        for sec in range(seconds)
    ]
    retried = {k: v for k, v in counts.items() if k not in ("join_requests", "retry_after")}
    return StormResult(
        players=players,
        back=len(back),
        all_back_s=max((st.welcome_at - t_kill for st in back), default=0.0),
        p50_ms=_quantile([st.request_ms for st in back], 0.50),
        p99_ms=_quantile([st.request_ms for st in back], 0.99),
        join_p50_ms=_quantile([st.join_ms for st in back], 0.50),
        join_p99_ms=_quantile([st.join_ms for st in back], 0.99),
        back_p50_s=_quantile([st.welcome_at - t_kill for st in back], 0.50),
        back_p99_s=_quantile([st.welcome_at - t_kill for st in back], 0.99),
        join_requests=counts["join_requests"],
        http_503=counts.get("http_503", 0),
        retry_after=counts["retry_after"],
        retried=retried,
        same_room=sum(st.same_room for st in back),
        state_kept=sum(st.state_kept for st in back),
        sequence_kept=sum(st.sequence_kept for st in back),
        timeline=timeline,
        cpu_ms_per_join=cpu / max(1, counts["join_requests"]) * 1000,
        loadgen_cpu_s=own,
    )


def pacing_env(args: argparse.Namespace, default_rate: int | None = None) -> dict[str, str]:
    """The control plane's join pacing settings from ``--join-rate``,
    ``--join-burst``, ``--max-in-flight`` (unset: the server's default, or
    ``default_rate`` for the rate)."""
    env: dict[str, str] = {}
    rate = args.join_rate if args.join_rate is not None else default_rate
    if rate is not None:
        env["PLAZA_JOIN_RATE_PER_SECOND"] = str(rate)
    if args.join_burst is not None:
        env["PLAZA_JOIN_BURST"] = str(args.join_burst)
    if args.max_in_flight is not None:
        env["PLAZA_JOIN_MAX_IN_FLIGHT"] = str(args.max_in_flight)
    return env


def pacing_flags(args: argparse.Namespace) -> str:
    """The pacing flags of this run, as typed."""
    out = ""
    if args.join_rate is not None:
        out += f" --join-rate {args.join_rate}"
    if args.join_burst is not None:
        out += f" --join-burst {args.join_burst}"
    if args.max_in_flight is not None:
        out += f" --max-in-flight {args.max_in_flight}"
    return out


def main_rejoin(args: argparse.Namespace) -> int:
    """W3r end to end: its own cluster, the storm, then the bare baseline."""
    # tests/ is no package (control/tests is the package named tests).
    sys.path.insert(0, str(REPO / "tests"))
    from system.cluster import build_relay, running_cluster

    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="plaza-w3r-"))
    binary = build_relay(workdir)
    env = {
        "PLAZA_JOIN_PER_USER": "1000000",
        "PLAZA_JOIN_PER_IP": "100000000",
        "PLAZA_SIGNIN_PER_IP": "100000000",
        "PLAZA_SIGNIN_PER_DEVICE": "1000000",
        "PLAZA_LOG_LEVEL": "warning",
    }
    env.update(pacing_env(args))
    with running_cluster(
        workdir,
        binary,
        controls=1,
        relays=1,
        world_capacity=args.room_capacity,
        control_env=env,
    ) as cluster:
        storm = asyncio.run(rejoin_storm(cluster, args.players, args.clients, args.deadline))
    port = free_port()
    proc = start_bare(port, "uvicorn")
    try:
        body = b'{"world_id":"bench"}'
        bare_res = asyncio.run(
            run_load(
                port, [http_post("/bare", body, None)], args.clients, args.seconds, 1.0, proc.pid
            )
        )
    finally:
        stop(proc)
    print(msgspec.json.format(msgspec.json.encode(storm)).decode())
    print(
        f"w3r: {storm.back}/{storm.players} back in {storm.all_back_s:.2f} s; request→Welcome "
        f"p50 {storm.p50_ms:.1f} ms p99 {storm.p99_ms:.1f} ms (join request p50 "
        f"{storm.join_p50_ms:.1f} ms p99 {storm.join_p99_ms:.1f} ms); 503s {storm.http_503}; "
        f"control cpu {storm.cpu_ms_per_join:.2f} ms/join, load generator cpu "
        f"{storm.loadgen_cpu_s:.1f} s | bare {bare_res.rps:.0f}/s "
        f"cpu {bare_res.cpu_ms:.2f} ms/req | cpu ratio {storm.cpu_ms_per_join / bare_res.cpu_ms:.1f}x",
        flush=True,
    )
    if args.out:
        write_rejoin_report(args, storm, bare_res, load_before)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if storm.back == storm.players else 1


def write_rejoin_report(
    args: argparse.Namespace, storm: StormResult, bare_res: Result, load: tuple[float, ...]
) -> None:
    """Replace the W3r section of ``args.out`` (or append one)."""
    cmd = (
        f".venv/bin/python scripts/bench_join.py --workload w3r --players {args.players} "
        f"--clients {args.clients} --room-capacity {args.room_capacity} --seconds {args.seconds:g}"
        + pacing_flags(args)
        + f" --out {args.out}"
    )
    lines = [
        W3R_HEADING,
        "",
        f"Measured {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} CPUs, "
        f"load average before the run {load[0]:.2f}.",
        "",
        "```",
        cmd,
        "```",
        "",
        "| players | back | all back (s after kill) | back p50 / p99 (s) | request→Welcome p50 / p99 (ms) "
        "| join request p50 / p99 (ms) "
        "| join requests | 503 (with a wait) | retried | same room | state kept | sequence kept "
        "| control cpu ms/join | bare cpu ms/req | ratio | load generator cpu (s) |",
        "|---:|---:|---:|---|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| {storm.players} | {storm.back} | {storm.all_back_s:.2f} | {storm.back_p50_s:.2f} / "
        f"{storm.back_p99_s:.2f} | {storm.p50_ms:.1f} / {storm.p99_ms:.1f} | "
        f"{storm.join_p50_ms:.1f} / {storm.join_p99_ms:.1f} | {storm.join_requests} | "
        f"{storm.http_503} ({storm.retry_after}) | "
        f"{', '.join(f'{k} {v}' for k, v in sorted(storm.retried.items())) or '-'} | "
        f"{storm.same_room} | {storm.state_kept} | {storm.sequence_kept} | "
        f"{storm.cpu_ms_per_join:.2f} | {bare_res.cpu_ms:.2f} | "
        f"{storm.cpu_ms_per_join / bare_res.cpu_ms:.1f}x | {storm.loadgen_cpu_s:.1f} |",
        "",
        "Rejoins (Welcomes) and 503s per second after the kill:",
        "",
        "| second | Welcomes | 503s |",
        "|---:|---:|---:|",
        *(f"| {sec} | {n} | {r} |" for sec, n, r in storm.timeline),
        "",
    ]
    text = args.out.read_text() if args.out.exists() else ""
    head, _, rest = text.partition(W3R_HEADING)
    tail = rest[rest.find("\n## ") :] if "\n## " in rest else ""
    args.out.write_text(head.rstrip("\n") + "\n\n" + "\n".join(lines) + tail.lstrip("\n"))


W3R_HEADING = "## W3r smoke run (generated)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", choices=["uvicorn", "granian", "both"], default="both")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument(
        "--users", type=int, default=40_000, help="distinct players (one session token each)"
    )
    ap.add_argument(
        "--repeat", type=int, default=1, help="rounds; servers alternate within a round"
    )
    ap.add_argument("--out", type=Path, default=None, help="write a markdown report here")
    ap.add_argument(
        "--workload",
        choices=["w3", "w3r"],
        default="w3",
        help="w3: join throughput vs bare; w3r: the rejoin storm after a relay's SIGKILL",
    )
    ap.add_argument("--players", type=int, default=200, help="w3r: players that rejoin")
    ap.add_argument("--room-capacity", type=int, default=50, help="w3r: the world's room size")
    ap.add_argument(
        "--deadline", type=float, default=120.0, help="w3r: seconds after the kill to give up"
    )
    ap.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        help="PLAZA_JOIN_MAX_IN_FLIGHT of the control plane (the in-flight 503 gate)",
    )
    ap.add_argument(
        "--join-rate",
        type=int,
        default=None,
        help="PLAZA_JOIN_RATE_PER_SECOND of the control plane (the admission schedule; 0 = "
        "none); w3 default 0, w3r default the server's",
    )
    ap.add_argument(
        "--join-burst",
        type=int,
        default=None,
        help="PLAZA_JOIN_BURST of the control plane (the schedule's burst)",
    )
    ap.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="w3: sample the control plane with py-spy during the load, write its collapsed "
        "stacks here and print where the time goes",
    )
    ap.add_argument("--py-spy-bin", default="py-spy", help="the py-spy executable")
    args = ap.parse_args()
    if args.players < 1 or args.clients < 1 or args.room_capacity < 1:
        ap.error("--players, --clients and --room-capacity must be positive")
    if args.join_rate is not None and args.join_rate < 0:
        ap.error("--join-rate must be >= 0")
    if args.join_burst is not None and args.join_burst < 1:
        ap.error("--join-burst must be >= 1")

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.workload == "w3r":
        return main_rejoin(args)
    key_dir = Path(tempfile.mkdtemp(prefix="plaza-bench-"))
    env = bench_env(
        key_dir,
        PLAZA_JOIN_PER_USER="1000000",
        PLAZA_JOIN_PER_IP="100000000",
        **pacing_env(args, default_rate=0),
    )
    from plaza_control import signing_keys

    signing_keys.generate_key_file(key_dir)
    servers = ["uvicorn", "granian"] if args.server == "both" else [args.server]
    load_before = os.getloadavg()
    rows: list[tuple[str, Result, Result]] = []
    try:
        for server in [srv for _ in range(args.repeat) for srv in servers]:
            tokens = asyncio.run(prepare(env, args.users))
            body = b'{"world_id":"bench"}'
            join_reqs = [http_post("/v1/join", body, t) for t in tokens]
            port = free_port()
            proc = start_control(env, port, server)
            spy = None
            if args.py_spy:
                spy = start_py_spy(args, proc.pid, args.warmup + args.seconds)
            try:
                joins = asyncio.run(
                    run_load(port, join_reqs, args.clients, args.seconds, args.warmup, proc.pid)
                )
                if spy is not None:
                    spy.wait(timeout=60)
                    print(profile_summary(args.py_spy.read_text()), flush=True)
            finally:
                stop(proc)
            bport = free_port()
            bproc = start_bare(bport, server)
            try:
                bare_res = asyncio.run(
                    run_load(
                        bport,
                        [http_post("/bare", body, None)],
                        args.clients,
                        args.seconds,
                        args.warmup,
                        bproc.pid,
                    )
                )
            finally:
                stop(bproc)
            rows.append((server, joins, bare_res))
            asyncio.run(cleanup(env))
            print(
                f"{server}: join {joins.rps:.0f}/s p50 {joins.p50_ms:.1f} ms p99 {joins.p99_ms:.1f} ms "
                f"cpu {joins.cpu_ms:.2f} ms/req errors {joins.errors} | bare {bare_res.rps:.0f}/s "
                f"p50 {bare_res.p50_ms:.1f} ms p99 {bare_res.p99_ms:.1f} ms cpu {bare_res.cpu_ms:.2f} ms/req "
                f"| join/bare {joins.rps / bare_res.rps:.2f}",
                flush=True,
            )
    finally:
        asyncio.run(cleanup(env))
    if args.out:
        write_report(args, rows, load_before)
    return 0


def write_report(
    args: argparse.Namespace, rows: list[tuple[str, Result, Result]], load: tuple[float, ...]
) -> None:
    cmd = (
        f".venv/bin/python scripts/bench_join.py --server {args.server} --clients {args.clients} "
        f"--seconds {args.seconds:g} --repeat {args.repeat}{pacing_flags(args)} --out {args.out}"
    )
    lines = [
        "# Control plane join benchmark",
        "",
        f"Measured {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} CPUs "
        f"({platform.machine()}, Python {platform.python_version()}), load average before the run "
        f"{load[0]:.2f} (the machine is shared: absolute numbers are noisy, ratios less so).",
        "",
        "```",
        "source scripts/lib.sh && scripts/services.sh start",
        cmd,
        "```",
        "",
        f"{args.clients} concurrent keep-alive clients, {args.seconds:g} s per target after "
        f"{args.warmup:g} s warm-up; one server process each; the load generator runs on the same machine. "
        "A join = session check, Redis rate limits (IP and user), ban + world config lookup, "
        "relay list (cached 500 ms), the atomic join.lua, an Ed25519 ticket. "
        f"Each request is a different player until {args.users} have joined (then seats are reused). "
        "`bare` is a Litestar POST that decodes and encodes similar JSON and touches nothing.",
        "",
        "`cpu ms/req` is the server process tree's user+system CPU time per request during the measured "
        "window: the number that does not depend on what else the machine is doing.",
        "",
        "| server | join/s | join p50 ms | join p99 ms | join cpu ms/req | errors | bare req/s | bare p50 ms "
        "| bare p99 ms | bare cpu ms/req | join/bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server, j, b in rows:
        lines.append(
            f"| {server} | {j.rps:.0f} | {j.p50_ms:.1f} | {j.p99_ms:.1f} | {j.cpu_ms:.2f} | {j.errors} | "
            f"{b.rps:.0f} | {b.p50_ms:.1f} | {b.p99_ms:.1f} | {b.cpu_ms:.2f} | {j.rps / b.rps:.2f} |"
        )
    lines += [
        "",
        "Median per server over the rounds:",
        "",
        "| server | join/s | join p50 ms | join p99 ms | join cpu ms/req | bare req/s | bare cpu ms/req "
        "| join/bare (throughput) | join/bare (cpu per request) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server in dict.fromkeys(r[0] for r in rows):
        mine = [(j, b) for s, j, b in rows if s == server]
        med = statistics.median
        lines.append(
            f"| {server} | {med(j.rps for j, _ in mine):.0f} | {med(j.p50_ms for j, _ in mine):.1f} | "
            f"{med(j.p99_ms for j, _ in mine):.1f} | {med(j.cpu_ms for j, _ in mine):.2f} | "
            f"{med(b.rps for _, b in mine):.0f} | {med(b.cpu_ms for _, b in mine):.2f} | "
            f"{med(j.rps / b.rps for j, b in mine):.2f} | {med(j.cpu_ms / b.cpu_ms for j, b in mine):.1f}x |"
        )
    lines.append("")
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
