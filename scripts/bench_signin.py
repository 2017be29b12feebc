#!/usr/bin/env python3
"""Guest sign-in benchmark: first-time against returning players, and what
MongoDB (FerretDB) costs each.

    source scripts/lib.sh && scripts/services.sh start
    .venv/bin/python scripts/bench_signin.py --clients 16 --seconds 8 --repeat 3

Per round, one control plane process (uvicorn) and the local FerretDB:

1. **first-time**: every request is a new ``device_id`` (``POST /v1/auth/guest``):
   the control plane creates the user in MongoDB, caches it in Redis and
   inserts a refresh token.
2. **returning**: the devices signed in during (1), again: the user comes from
   the Redis cache (``repositories/user_cache.py``), and MongoDB gets one
   command, the refresh-token insert.

Reported per pass: sign-ins/s, p50/p99, the control plane's process-tree CPU
per sign-in, and FerretDB's process CPU per sign-in (FerretDB's pid from
``$PLAZA_DATA_DIR/ferretdb/ferretdb.pid``, as scripts/services.sh writes it).
``1000 / FerretDB ms`` is the sign-in rate one FerretDB core bounds. The load
generator is bench_join's raw keep-alive HTTP/1.1 client in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_join import (
    REPO,
    Result,
    bench_env,
    cleanup,
    free_port,
    http_post,
    run_load,
    start_control,
    stop,
    tree_cpu_seconds,
)


def ferretdb_pid() -> int:
    data = Path(os.environ.get("PLAZA_DATA_DIR", REPO / ".data"))
    path = data / "ferretdb" / "ferretdb.pid"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        sys.exit(f"no FerretDB pid at {path}: start it with scripts/services.sh start")


def sign_in(device: str) -> bytes:
    body = f'{{"device_id":"{device}","display_name":"Bench"}}'.encode()
    return http_post("/v1/auth/guest", body, None)


async def measured(
    port: int, reqs: list[bytes], args: argparse.Namespace, pid: int, db_pid: int
) -> tuple[Result, float]:
    """The load's result and FerretDB's CPU ms per request over the same window
    (the warm-up's requests count too: FerretDB is sampled around both)."""
    db0 = tree_cpu_seconds(db_pid)
    res = await run_load(port, reqs, args.clients, args.seconds, 0.0, pid)
    db_ms = (tree_cpu_seconds(db_pid) - db0) / max(1, res.requests) * 1000
    return res, db_ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--devices", type=int, default=40_000, help="distinct new devices per round")
    args = ap.parse_args()
    if min(args.clients, args.repeat, args.devices) < 1 or args.seconds <= 0:
        ap.error("--clients, --repeat, --devices and --seconds must be positive")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    from plaza_control import signing_keys

    db_pid = ferretdb_pid()
    key_dir = Path(tempfile.mkdtemp(prefix="plaza-bench-signin-"))
    signing_keys.generate_key_file(key_dir)
    load_before = os.getloadavg()
    rows: list[tuple[str, Result, float]] = []
    for _ in range(args.repeat):
        env = bench_env(key_dir, PLAZA_SIGNIN_PER_IP="100000000", PLAZA_SIGNIN_PER_DEVICE="1000000")
        tag = env["PLAZA_MONGO_DB"].removeprefix("bench_")
        devices = [f"bench-{tag}-{i:012d}" for i in range(args.devices)]
        port = free_port()
        proc = start_control(env, port, "uvicorn")
        try:
            first, first_db = asyncio.run(
                measured(port, [sign_in(d) for d in devices], args, proc.pid, db_pid)
            )
            if first.requests >= len(devices):
                print("warning: devices repeated in the first-time pass; raise --devices")
            # Client c sent requests c, c + clients, ...: the first
            # (requests - clients) devices are certainly signed in.
            done = devices[: max(args.clients, first.requests - args.clients)]
            again, again_db = asyncio.run(
                measured(port, [sign_in(d) for d in done], args, proc.pid, db_pid)
            )
        finally:
            stop(proc)
            asyncio.run(cleanup(env))
        for name, res, db in (("first-time", first, first_db), ("returning", again, again_db)):
            rows.append((name, res, db))
            print(
                f"{name}: {res.rps:.0f}/s p50 {res.p50_ms:.1f} ms p99 {res.p99_ms:.1f} ms "
                f"control cpu {res.cpu_ms:.2f} ms/req ferretdb cpu {db:.2f} ms/req "
                f"errors {res.errors}",
                flush=True,
            )
    load_after = os.getloadavg()
    print(f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(
        "| pass | sign-ins/s (median, min-max) | p99 ms (median) | control cpu ms/req | "
        "FerretDB cpu ms/req | sign-ins/s one FerretDB core bounds |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for name in ("first-time", "returning"):
        mine = [(r, db) for n, r, db in rows if n == name]
        rps = sorted(r.rps for r, _ in mine)
        db_ms = statistics.median(db for _, db in mine)
        print(
            f"| {name} | {statistics.median(rps):.0f} ({rps[0]:.0f}-{rps[-1]:.0f}) | "
            f"{statistics.median(r.p99_ms for r, _ in mine):.1f} | "
            f"{statistics.median(r.cpu_ms for r, _ in mine):.2f} | {db_ms:.2f} | "
            f"{1000 / db_ms if db_ms else float('inf'):.0f} |"
        )
    errors = sum(r.errors for _, r, _ in rows)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
