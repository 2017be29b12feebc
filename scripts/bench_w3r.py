# The benchmark starts its own processes (relay, control planes, the Go driver) from argv lists.
# ruff: noqa: S603, S607
"""W3r, the rejoin storm, driven by the Go load generator (issue 15 §1;
docs/benchmarks.md "W3r (Go load generator)").

Per mode: a fresh system from `tests/system/cluster.py` (its own Redis, the
FerretDB at PLAZA_MONGO_URL, `--control-processes` control planes, each its
own process on its own port, and relay-0), then `relay-go/bench/cmd/w3r
drive` seats `--players` guests once (sign-in, join world `lobby`,
WebSocket + Hello/Welcome; the first member of each room sets state key
`w3r`) and prints READY. Each of the `--runs` storms: relay-(k+1) starts and
registers, the driver is told the moment and relay-k gets SIGKILL; every
player rejoins by the reconnect rule (docs/protocol.md §8) and the driver
prints the storm's result. The process CPU of every control plane, the
relay rejoined to and Redis is read from /proc at the kill and when the
result arrives; the driver reports its own.

Modes: `paced` sets PLAZA_JOIN_RATE_PER_SECOND / PLAZA_JOIN_BURST (per
control-plane process) from `--rate` / `--burst`; `unpaced` sets
PLAZA_JOIN_RATE_PER_SECOND=0 and PLAZA_JOIN_MAX_IN_FLIGHT=0.

    uv run python scripts/bench_w3r.py --players 5000 --mode both --runs 3
    uv run python scripts/bench_w3r.py --players 5000 --mode paced --control-processes 2 --runs 2
    uv run python scripts/bench_w3r.py --write-docs   # only rewrite the docs section

Every invocation saves its runs to `--results-dir` (default .data/w3r), one
file per mode and control-process count; `--write-docs` renders the docs
section and the plots from every saved file, so configurations measured by
separate (locked, short) invocations land in one table.

Exit status 1 when a run left a player out (not back by `--deadline`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests")]

from machine_info import cpu_model  # noqa: E402

from system.cluster import Cluster, build_relay, running_cluster  # noqa: E402

DOCS = REPO / "docs" / "benchmarks.md"
IMG = REPO / "docs" / "img"
HEADING = "## W3r (Go load generator)"
BEGIN = "<!-- w3r-go:begin (scripts/bench_w3r.py --write-docs rewrites up to the end marker) -->"
END = "<!-- w3r-go:end -->"
CLK_TCK = os.sysconf("SC_CLK_TCK")

#: Rate limits out of the way: the storm measures pacing, not the abuse limits.
BASE_ENV = {
    "PLAZA_JOIN_PER_USER": "1000000",
    "PLAZA_JOIN_PER_IP": "100000000",
    "PLAZA_SIGNIN_PER_IP": "100000000",
    "PLAZA_SIGNIN_PER_DEVICE": "1000000",
    "PLAZA_LOG_LEVEL": "warning",
}


@dataclass(frozen=True)
class Options:
    players: int
    controls: int
    #: "ports": each control plane its own process on its own port, the driver
    #: splitting the players; "workers": one port, PLAZA_WORKERS uvicorn workers.
    layout: str
    rate: int
    burst: int
    horizon_ms: int | None
    room_capacity: int
    deadline_s: float
    seat_concurrency: int
    source_addrs: int


def mode_env(mode: str, o: Options) -> dict[str, str]:
    if mode == "unpaced":
        return {"PLAZA_JOIN_RATE_PER_SECOND": "0", "PLAZA_JOIN_MAX_IN_FLIGHT": "0"}
    env = {"PLAZA_JOIN_RATE_PER_SECOND": str(o.rate), "PLAZA_JOIN_BURST": str(o.burst)}
    if o.horizon_ms is not None:
        env["PLAZA_JOIN_SCHEDULE_HORIZON_MS"] = str(o.horizon_ms)
    return env


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live descendants (uvicorn workers), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    total = (int(fields[11]) + int(fields[12])) / CLK_TCK
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    return total


def runq_wait_by_task(pid: int) -> dict[int, float]:
    """Per thread of a process and its live descendants: the seconds it spent
    runnable but waiting for a CPU (/proc/<pid>/task/<tid>/schedstat, second
    field), i.e. CPU starvation by everything else on the machine, not work."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            out[int(task.name)] = int((task / "schedstat").read_text().split()[1]) / 1e9
        with contextlib.suppress(OSError, ValueError):
            for child in (task / "children").read_text().split():
                out |= runq_wait_by_task(int(child))
    return out


def runq_wait_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """Run-queue wait between two readings, over the threads alive at the second
    (a thread that exited in between is not counted: an undercount)."""
    return sum(max(0.0, v - before.get(tid, 0.0)) for tid, v in after.items())


def backing_errors(workdir: Path) -> dict[str, int]:
    """The control planes' "backing service error" log lines (the 503
    dependency-down answers) by exception type, over the whole invocation."""
    out: dict[str, int] = {}
    for log in workdir.glob("control-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if "backing service error" in line:
                # the JSON log names the exception type "error.message" (ECS)
                m = re.search(r'"error(?:\.message)?"\s*:\s*"([^"]+)"', line)
                key = m.group(1) if m else "unknown"
                out[key] = out.get(key, 0) + 1
    return out


def build_driver(out_dir: Path) -> Path:
    binary = out_dir / "w3r"
    subprocess.run(
        ["go", "build", "-o", str(binary), "./cmd/w3r"],
        cwd=REPO / "relay-go" / "bench",
        check=True,
        timeout=600,
    )
    return binary


def read_line(
    stdout: IO[bytes], proc: subprocess.Popen[bytes], log: Path, key: str
) -> dict[str, Any]:
    """The driver's next JSON line that has ``key`` (READY or a round's result)."""
    for raw in stdout:
        line = raw.decode(errors="replace").strip()
        if line.startswith("{"):
            msg: dict[str, Any] = json.loads(line)
            if key in msg:
                return msg
    proc.wait(timeout=10)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise RuntimeError(f"w3r driver exited {proc.returncode} before its {key!r} line:\n{tail}")


def run_mode(
    mode: str, o: Options, runs: int, relay: Path, driver: Path, workdir: Path
) -> list[dict[str, Any]]:
    """One system, the players seated once, then ``runs`` storms: before storm k,
    relay-(k+1) starts and relay-k gets SIGKILL. Returns each storm's result
    with the CPU of every process over it and the load average around it."""
    env = BASE_ENV | mode_env(mode, o)
    if o.layout == "workers":
        env["PLAZA_WORKERS"] = str(o.controls)
    results: list[dict[str, Any]] = []
    with running_cluster(
        workdir,
        relay,
        controls=o.controls if o.layout == "ports" else 1,
        relays=1,
        world_capacity=o.room_capacity,
        control_env=env,
    ) as cluster:
        log = workdir / "driver.log"
        args = [
            str(driver),
            "drive",
            "--control",
            ",".join(c.url for c in cluster.controls),
            "--players",
            str(o.players),
            "--rounds",
            str(runs),
            "--seat-concurrency",
            str(o.seat_concurrency),
            "--source-addrs",
            str(o.source_addrs),
            "--deadline",
            f"{o.deadline_s}s",
            "--out",
            str(workdir / "results.json"),
        ]
        with log.open("wb") as err:
            proc = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=REPO
            )
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            for k in range(runs):
                t0 = time.monotonic()
                ready = read_line(proc.stdout, proc, log, "ready")
                load_before = os.getloadavg()
                cluster.start_relay()
                cluster.wait_relays_registered()
                pids = storm_pids(cluster, k + 1) | {"driver": proc.pid}
                cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
                wait0 = {name: runq_wait_by_task(pid) for name, pid in pids.items()}
                t_kill = time.monotonic()
                proc.stdin.write(b"kill\n")
                proc.stdin.flush()
                cluster.relays[k].process.kill()
                msg = read_line(proc.stdout, proc, log, "result")
                wall = time.monotonic() - t_kill
                cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
                runq = {
                    name: runq_wait_delta(wait0[name], runq_wait_by_task(pid))
                    for name, pid in pids.items()
                }
                result: dict[str, Any] = msg["result"]
                result.update(
                    mode=mode,
                    seat=ready,
                    cpu_s=cpu,
                    runq_wait_s=runq,
                    storm_wall_s=wall,
                    load_before=list(load_before),
                    load_after=list(os.getloadavg()),
                    env=env,
                )
                results.append(result)
                print(
                    f"# {mode} run {k + 1}/{runs}: {result['back']}/{result['players']} back, "
                    f"last {result['all_back_s']:.2f} s after the kill, {result['http_503']} 503s, "
                    f"{result['join_requests']} join requests (seating {ready['seat_s']:.0f} s; "
                    f"{time.monotonic() - t0:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
                if result["back"] < result["players"]:
                    break
            code = proc.wait(timeout=60)
            if results:
                results[-1]["backing_errors_all_runs"] = backing_errors(workdir)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        if code not in (0, 1):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"w3r driver exited {code}:\n{tail}")
    return results


def storm_pids(cluster: Cluster, relay_index: int) -> dict[str, int]:
    """The processes whose CPU a storm reads: control planes, the relay the
    players rejoin to, Redis (the driver reports its own)."""
    pids = {}
    for i, c in enumerate(cluster.controls):
        assert c.process.proc is not None
        pids[f"control-{i}"] = c.process.proc.pid
    relay = cluster.relays[relay_index].process.proc
    assert relay is not None
    assert cluster.redis is not None
    assert cluster.redis.proc is not None
    pids["relay"] = relay.pid
    pids["redis"] = cluster.redis.proc.pid
    return pids


# --- summary -------------------------------------------------------------------
def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """median (min-max), or the one value."""
    if not values:
        return "-"
    if len(values) == 1:
        return fmt.format(values[0])
    lo, med, hi = min(values), statistics.median(values), max(values)
    return f"{fmt.format(med)} ({fmt.format(lo)}-{fmt.format(hi)})"


def control_cpu_ms_per_join(r: dict[str, Any]) -> float:
    cpu = sum(v for k, v in r["cpu_s"].items() if k.startswith("control-"))
    return float(cpu / max(1, r["join_requests"]) * 1000)


def cpu_share(r: dict[str, Any], name: str, key: str = "cpu_s") -> float:
    """A process's CPU (or run-queue wait) over the storm in % of one core."""
    return float(r.get(key, {}).get(name, 0.0) / max(1e-3, r["storm_wall_s"]) * 100)


TABLE_HEAD = (
    "| mode | control processes | players | runs | back (of players) | back within 10 s "
    "| all back (s after kill) | back p50 / p99 (s) | request→Welcome p50 / p99 (ms) "
    "| join request p50 / p99 (ms) | join requests | 503s | other failed attempts (per run) "
    "| same room / state / sequence | control CPU ms per join request "
    "| CPU over the storm, % of a core: control / relay / Redis / driver "
    "| waiting for a CPU (run queue) over the storm, % of it: control / relay / Redis / driver |\n"
    "|---|---:|---:|---:|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def others(r: dict[str, Any]) -> str:
    f = {k: v for k, v in r["failures"].items() if not k.startswith("join_http_503")}
    return ", ".join(f"{k} {v}" for k, v in sorted(f.items())) or "0"


def refusals(runs: list[dict[str, Any]]) -> str:
    """The 503s by problem code, summed over the runs."""
    by: dict[str, int] = {}
    for r in runs:
        for k, v in r["failures"].items():
            if k.startswith("join_http_503"):
                code = k.removeprefix("join_http_503").lstrip("_") or "no code"
                by[code] = by.get(code, 0) + int(v)
    return ", ".join(f"{k} {v}" for k, v in sorted(by.items())) or "none"


def control_label(controls: int, layout: str) -> str:
    if controls == 1:
        return "1"
    how = "processes, own ports" if layout == "ports" else "uvicorn workers, one port"
    return f"{controls} ({how})"


def mode_label(mode: str, env: dict[str, str]) -> str:
    """ "paced 1000/s, burst 200" (per control-plane process) or "unpaced"."""
    if mode != "paced":
        return mode
    rate, burst = env.get("PLAZA_JOIN_RATE_PER_SECOND", "?"), env.get("PLAZA_JOIN_BURST", "?")
    return f"paced {rate}/s, burst {burst}"


def table_row(mode: str, controls: int, layout: str, runs: list[dict[str, Any]]) -> str:
    def col(key: str, fmt: str = "{:.2f}") -> str:
        return spread([float(r[key]) for r in runs], fmt)

    n = runs[0]["players"]

    def shares(key: str) -> str:
        if not all(key in r for r in runs):
            return "-"
        ctl = [sum(cpu_share(r, k, key) for k in r[key] if k.startswith("control-")) for r in runs]
        return " / ".join(
            [
                spread(ctl, "{:.0f}"),
                *(
                    spread([cpu_share(r, name, key) for r in runs], "{:.0f}")
                    for name in ("relay", "redis", "driver")
                ),
            ]
        )

    kept = " / ".join(
        spread([float(r[k]) for r in runs], "{:.0f}")
        for k in ("same_room", "state_kept", "sequence_kept")
    )
    return (
        f"| {mode} | {control_label(controls, layout)} | {n} | {len(runs)} "
        f"| {col('back', '{:.0f}')} "
        f"| {col('back_within', '{:.0f}')} | {col('all_back_s')} "
        f"| {col('back_p50_s')} / {col('back_p99_s')} "
        f"| {col('request_p50_ms', '{:.0f}')} / {col('request_p99_ms', '{:.0f}')} "
        f"| {col('join_p50_ms', '{:.0f}')} / {col('join_p99_ms', '{:.0f}')} "
        f"| {col('join_requests', '{:.0f}')} "
        f"| {col('http_503', '{:.0f}')}; with a hint {col('hinted_503', '{:.0f}')}; "
        f"by code over the runs: {refusals(runs)} "
        f"| {'; '.join(others(r) for r in runs)} | {kept} "
        f"| {spread([control_cpu_ms_per_join(r) for r in runs])} | {shares('cpu_s')} "
        f"| {shares('runq_wait_s')} |"
    )


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: float(r["all_back_s"]))
    return ordered[(len(ordered) - 1) // 2]


def per_second(r: dict[str, Any], key: str) -> list[int]:
    per = max(1, 1000 // int(r["bucket_ms"]))
    v: list[int] = r[key]
    return [sum(v[i : i + per]) for i in range(0, len(v), per)]


# --- docs --------------------------------------------------------------------
def machine() -> str:
    return f"`nproc` = {os.cpu_count()}, CPU {cpu_model()}, Linux {platform.release()}"


def saved(results_dir: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted(results_dir.glob("w3r-*.json")):
        data: dict[str, Any] = json.loads(f.read_text())
        out.append(data)
    order = {"unpaced": 0, "paced": 1}
    return sorted(
        out,
        key=lambda d: (
            order.get(d["mode"], 2),
            d["controls"],
            d.get("layout", "ports"),
            int(d["mode_env"].get("PLAZA_JOIN_RATE_PER_SECOND", "0")),
        ),
    )


METHOD = [
    "What runs (`scripts/bench_w3r.py`, the Go driver `relay-go/bench/cmd/w3r`, decision 017):",
    "",
    "- per mode one system from `tests/system/cluster.py`: its own Redis, the FerretDB at "
    "`PLAZA_MONGO_URL`, the control plane(s), relay-0 (500 ms heartbeat, so its key lapses "
    "1.5 s after it dies); rooms of 50 in world `lobby`;",
    "- the driver seats the players once (guest sign-in, join, WebSocket + `Hello`/`Welcome`, "
    "64 at a time, from 127.0.0.1-4); the first member of each room sets state key `w3r`;",
    "- each run (round) on the same players: relay-(k+1) starts and registers, relay-k gets "
    "SIGKILL; every player, once its socket closes, rejoins by docs/protocol.md §8: "
    "`POST /v1/join` with its session token, `room_id` and `resume_session_id`; a 409/429/503 "
    "waits the body's `retry_after_ms` (else `Retry-After`) + uniform(0, 250 ms); a failure "
    "without a hint (dial, handshake, transport) waits uniform(0, min(10 s, 250 ms x 2^n)); "
    "then `Hello` to the relay named;",
    "- per player: kill -> `Welcome`, the admitted attempt's request -> `Welcome` (from its "
    "`POST /v1/join` to the relay's `Welcome`) and its join request alone, whether it came back "
    "to its own room, with the state key and a `Welcome` sequence not below the last it saw; "
    "every failed attempt by kind (503s by problem code);",
    "- CPU over the storm (kill -> the driver's result) of each control-plane process, the relay "
    'rejoined to and Redis from /proc; the driver reports its own. "control CPU ms per join '
    "request\" divides the control planes' CPU by every join request they answered (admitted or "
    "refused), and includes their event consumers applying the storm's leaves and joins.",
    "- paced: `PLAZA_JOIN_RATE_PER_SECOND`/`PLAZA_JOIN_BURST` per control-plane process; "
    "unpaced: `PLAZA_JOIN_RATE_PER_SECOND=0 PLAZA_JOIN_MAX_IN_FLIGHT=0`.",
]


def render(results: list[dict[str, Any]], driver: Path | None) -> str:
    lines = [
        HEADING,
        BEGIN,
        "",
        "Generated by `scripts/bench_w3r.py --write-docs` from the saved runs below "
        "(each configuration its own invocation, one benchmark at a time on the machine). "
        "Every cell is the median over the runs, (min-max) when there were several.",
        "",
        f"Machine: {machine()}. The machine is shared with other sessions: read CPU per "
        "join and the ratios, not absolute times; the load averages are given per configuration.",
        "",
        *METHOD,
        "",
        TABLE_HEAD,
    ]
    for d in results:
        label = mode_label(d["mode"], d["mode_env"])
        lines.append(table_row(label, d["controls"], d.get("layout", "ports"), d["runs"]))
    lines += [
        "",
        "Commands, settings and load average (1/5/15 min) before the first and after the last run:",
        "",
    ]
    for d in results:
        env = " ".join(f"{k}={v}" for k, v in sorted(d["mode_env"].items()))
        lb = " ".join(f"{x:.2f}" for x in d["runs"][0]["load_before"])
        la = " ".join(f"{x:.2f}" for x in d["runs"][-1]["load_after"])
        lines.append(
            f"- {mode_label(d['mode'], d['mode_env'])}, {d['controls']} control process(es), "
            f"{d['started_utc']}: "
            f"`{d['command']}`; control env `{env}`; load {lb} → {la}"
        )
    lines += [
        "",
        "Welcomes / 503s / join requests per second after the kill (median run of each row):",
        "",
    ]
    for d in results:
        r = median_run(d["runs"])
        w, x, j = (
            per_second(r, "welcomes"),
            per_second(r, "refused_503"),
            per_second(r, "join_requests_t"),
        )
        cells = ", ".join(f"{a}/{b}/{c}" for a, b, c in zip(w, x, j, strict=True))
        lines.append(f"- {mode_label(d['mode'], d['mode_env'])}, {d['controls']} control: {cells}")
    lines.append("")
    for mode in ("paced", "unpaced"):
        if (IMG / f"w3r-{mode}.png").exists() and any(d["mode"] == mode for d in results):
            lines.append(f"![W3r {mode}: joins/s and 503s after the kill](img/w3r-{mode}.png)")
    lines += ["", END, ""]
    return "\n".join(lines)


def write_plots(results: list[dict[str, Any]], driver: Path, scratch: Path) -> None:
    """One PNG per mode, from the median run of its 1-control row (else of every
    row) whose median run came back soonest (paced: the best schedule measured)."""
    for mode in ("paced", "unpaced"):
        rows = [d for d in results if d["mode"] == mode]
        if not rows:
            continue
        rows = [x for x in rows if x["controls"] == 1] or rows
        d = min(rows, key=lambda x: float(median_run(x["runs"])["all_back_s"]))
        r = median_run(d["runs"])
        tmp = scratch / f"plot-{mode}.json"
        tmp.write_text(json.dumps(r))
        title = (
            f"W3r {mode_label(mode, d['mode_env'])}: {r['players']} players rejoin after "
            f"relay kill -9, {d['controls']} control process(es)"
        )
        subprocess.run(
            [
                str(driver),
                "plot",
                "--result",
                str(tmp),
                "--out",
                str(IMG / f"w3r-{mode}.png"),
                "--title",
                title,
            ],
            check=True,
            timeout=60,
        )


def write_docs(section: str) -> None:
    """Replace the text between the markers (heading included), or append it."""
    doc = DOCS.read_text()
    m = re.search(
        rf"^{re.escape(HEADING)}\n{re.escape(BEGIN)}\n.*?^{re.escape(END)}\n", doc, re.M | re.S
    )
    if m is None:
        DOCS.write_text(doc.rstrip("\n") + "\n\n" + section)
        return
    DOCS.write_text(doc[: m.start()] + section + doc[m.end() :])


# --- main --------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--players", type=int, default=5000)
    ap.add_argument("--mode", choices=["paced", "unpaced", "both"], default="both")
    ap.add_argument("--runs", type=int, default=1, help="runs per mode (the spread is reported)")
    ap.add_argument(
        "--control-processes",
        type=int,
        choices=[1, 2],
        default=1,
        help="control planes, each its own process on its own port; player i uses the (i mod n)-th",
    )
    ap.add_argument(
        "--control-layout",
        choices=["ports", "workers"],
        default="ports",
        help="ports: each control process on its own port (the driver splits the players); "
        "workers: one port, PLAZA_WORKERS uvicorn workers",
    )
    ap.add_argument(
        "--rate", type=int, default=1000, help="paced: PLAZA_JOIN_RATE_PER_SECOND per process"
    )
    ap.add_argument(
        "--burst",
        type=int,
        default=251,
        help="paced: PLAZA_JOIN_BURST (>= 0.25 s x rate + 1: the client jitter fits in it)",
    )
    ap.add_argument(
        "--horizon-ms",
        type=int,
        help="paced: PLAZA_JOIN_SCHEDULE_HORIZON_MS (default: the server's)",
    )
    ap.add_argument("--room-capacity", type=int, default=50)
    ap.add_argument(
        "--deadline", type=float, default=60.0, help="seconds after the kill to give up"
    )
    ap.add_argument("--seat-concurrency", type=int, default=64)
    ap.add_argument("--source-addrs", type=int, default=4)
    ap.add_argument("--results-dir", type=Path, default=REPO / ".data" / "w3r")
    ap.add_argument("--json-out", type=Path, help="also write this invocation's runs here")
    ap.add_argument(
        "--no-save", action="store_true", help="do not save to --results-dir (smoke runs)"
    )
    ap.add_argument(
        "--write-docs",
        action="store_true",
        help="rewrite the docs section and plots from the saved runs",
    )
    ap.add_argument("--docs-only", action="store_true", help="with --write-docs: measure nothing")
    args = ap.parse_args(argv)
    if args.players < 1 or args.runs < 1:
        ap.error("--players and --runs must be positive")
    o = Options(
        players=args.players,
        controls=args.control_processes,
        layout=args.control_layout,
        rate=args.rate,
        burst=args.burst,
        horizon_ms=args.horizon_ms,
        room_capacity=args.room_capacity,
        deadline_s=args.deadline,
        seat_concurrency=args.seat_concurrency,
        source_addrs=args.source_addrs,
    )
    scratch = Path(tempfile.mkdtemp(prefix="plaza-w3r-go-"))
    status = 0
    try:
        driver = build_driver(scratch)
        if not args.docs_only:
            status = measure(args, o, driver, scratch)
        if args.write_docs:
            results = saved(args.results_dir)
            if not results:
                print(f"no saved runs in {args.results_dir}", file=sys.stderr)
                return 2
            write_plots(results, driver, scratch)
            write_docs(render(results, driver))
            print(f"wrote {DOCS.relative_to(REPO)} ({HEADING}) and docs/img/w3r-*.png", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return status


def measure(args: argparse.Namespace, o: Options, driver: Path, scratch: Path) -> int:
    relay = build_relay(scratch)
    modes = ["unpaced", "paced"] if args.mode == "both" else [args.mode]
    command = "uv run python scripts/bench_w3r.py " + " ".join(
        a
        for a in (sys.argv[1:] if sys.argv[0].endswith("bench_w3r.py") else [])
        if a != "--write-docs"
    )
    status = 0
    everything: list[dict[str, Any]] = []
    print(TABLE_HEAD, flush=True)
    for mode in modes:
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        workdir = scratch / mode
        workdir.mkdir()
        runs = run_mode(mode, o, args.runs, relay, driver, workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        if len(runs) < args.runs or any(r["back"] < r["players"] for r in runs):
            status = 1
        print(
            table_row(mode_label(mode, mode_env(mode, o)), o.controls, o.layout, runs), flush=True
        )
        record = {
            "mode": mode,
            "controls": o.controls,
            "layout": o.layout,
            "players": o.players,
            "mode_env": mode_env(mode, o),
            "command": command,
            "started_utc": started,
            "runs": runs,
        }
        everything.append(record)
        if not args.no_save:
            args.results_dir.mkdir(parents=True, exist_ok=True)
            (
                args.results_dir
                / f"w3r-{mode}-c{o.controls}{'-workers' if o.layout == 'workers' else ''}"
                f"{f'-r{o.rate}' if mode == 'paced' else ''}.json"
            ).write_text(json.dumps(record))
    if args.json_out:
        args.json_out.write_text(json.dumps(everything))
    return status


if __name__ == "__main__":
    sys.exit(main())
