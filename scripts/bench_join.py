#!/usr/bin/env python3
"""Join-path benchmark: joins/s and p50/p99 at N concurrent clients against one
control plane process, and a bare Litestar endpoint on the same server in the
same run (the ratio says what the join path itself costs).

    source scripts/lib.sh && scripts/services.sh start
    .venv/bin/python scripts/bench_join.py --server both --clients 64 --seconds 10 \
        --out docs/control-benchmarks.md

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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    args = ap.parse_args()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    tag = secrets.token_hex(3)
    key_dir = Path(tempfile.mkdtemp(prefix="plaza-bench-"))
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
            "PLAZA_JOIN_PER_USER": "1000000",
            "PLAZA_JOIN_PER_IP": "100000000",
            "PLAZA_ACCESS_LOG": "false",
            "PLAZA_LOG_LEVEL": "warning",
        }
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
            try:
                joins = asyncio.run(
                    run_load(port, join_reqs, args.clients, args.seconds, args.warmup, proc.pid)
                )
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
        f"--seconds {args.seconds:g} --repeat {args.repeat} --out {args.out}"
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
