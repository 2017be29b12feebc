# Starts its own processes (go, git, the cluster) and writes report prose lines.
# ruff: noqa: E501, S603, S607
"""The soak (docs/benchmarks.md, "Soak"): W1-like traffic with churn, over time.

Starts a whole Plaza on loopback with tests/system/cluster.py (2 relays, 2
control planes, a private Redis, the FerretDB at PLAZA_MONGO_URL), runs the
traffic driver `relay-go/bench/cmd/soak drive` (rooms of members moving at
10 Hz and chatting 0.2/s each; members leave and returning players take their
seats; every room closes after its life and a room with a new id opens), and
samples every --interval seconds: RSS, open FDs (and relay goroutines) of
every relay and control plane process, Redis `used_memory`, `DBSIZE`, key
counts per family (SCAN), the events stream's length and entries ever
added, and each consumer group's lag and pending count. At the end: the driver's chat exactly-once
check, and per series the least-squares slope over the samples after
warm-up (the first third of the run), per hour, with a verdict against the
threshold printed with it. Writes DIR/samples.json, DIR/result.json,
DIR/soak.md and the plots (DIR/soak-*.png, drawn by `soak plot` with
gonum/plot); with --write-docs also the "## Soak" section of
docs/benchmarks.md and docs/img/soak-*.png.

    PLAZA_MONGO_URL=mongodb://127.0.0.1:27402/ uv run python scripts/soak.py --duration 30m --write-docs
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from plaza_control.settings import Settings

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests")]

from system.cluster import Cluster, build_relay, running_cluster  # noqa: E402

Sample = dict[str, float]


def parse_duration(text: str) -> float:
    """'8m', '30m', '45s', '1h', '90' (seconds) -> seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"bad duration {text!r} (e.g. 45s, 8m, 1h)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


# --- sampling ------------------------------------------------------------------


def proc_status(pid: int) -> tuple[float, float]:
    """(VmRSS in MiB, open file descriptors) of one process."""
    rss_kib = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = float(line.split()[1])
    return rss_kib / 1024, float(len(os.listdir(f"/proc/{pid}/fd")))


def goroutines(admin_url: str) -> float:
    text = httpx.get(f"{admin_url}/metrics", timeout=5).text
    m = re.search(r"^go_goroutines (\S+)$", text, re.M)
    if not m:
        raise RuntimeError(f"{admin_url}/metrics has no go_goroutines")
    return float(m.group(1))


#: Key families: (series name, regex on the key after the prefix). First match wins.
FAMILIES: list[tuple[str, re.Pattern[str]]] = [
    ("snapshots", re.compile(r"room:\{[^}]*\}:snapshot")),
    ("legacy_tombstones", re.compile(r"\{alloc\}:ended:")),
    ("room_allocations", re.compile(r"\{alloc\}:room:[^:]*$")),
    ("room_seat_sets", re.compile(r"\{alloc\}:room:[^:]*:(seats|sessions)$")),
    ("tickets_used", re.compile(r"ticket_used:")),
    ("user_cache", re.compile(r"user:(device|identity):")),
    ("rate_limit_counters", re.compile(r"rl:")),
]


def redis_sample(r: redis.Redis, prefix: str) -> Sample:
    info: dict[str, Any] = r.info("memory")
    out: Sample = {"redis_used_memory_mib": float(info["used_memory"]) / 2**20}
    out["redis_keys"] = float(r.dbsize())
    counts = dict.fromkeys([f for f, _ in FAMILIES], 0)
    counts["other_keys"] = 0
    for raw in r.scan_iter(match=f"{prefix}*", count=1000):
        key = raw.decode(errors="replace")[len(prefix) :]
        for name, pat in FAMILIES:
            if pat.match(key):
                counts[name] += 1
                break
        else:
            counts["other_keys"] += 1
    for name, n in counts.items():
        out[f"keys_{name}"] = float(n)
    alloc = f"{prefix}{{alloc}}:"
    out["tombstones_sessions_ended"] = float(r.zcard(f"{alloc}sessions_ended"))
    out["rooms_set"] = float(r.scard(f"{alloc}rooms"))
    out["room_lifetimes_fields"] = float(r.hlen(f"{alloc}room_lifetimes"))
    out["user_seats_fields"] = float(r.hlen(f"{alloc}user_seats"))
    stream = f"{prefix}events"
    out["events_stream_length"] = float(r.xlen(stream))
    # Every entry ever added (XINFO STREAM entries-added): against the length, the
    # share the control plane's trim removed (docs/redis.md, events stream trim).
    info_stream: dict[Any, Any] = r.xinfo_stream(stream)
    out["events_stream_entries_added"] = float(info_stream.get("entries-added") or 0)
    # The control plane trims the stream behind every group (XTRIM MINID), the
    # relay's MAXLEN ~1,000,000 is the backstop: the stream follows the lag.
    stream_bytes = float(r.memory_usage(stream) or 0)
    out["redis_stream_memory_mib"] = stream_bytes / 2**20
    out["redis_memory_excluding_stream_mib"] = out["redis_used_memory_mib"] - stream_bytes / 2**20
    for g in r.xinfo_groups(stream):
        name = g["name"].decode() if isinstance(g["name"], bytes) else str(g["name"])
        lag = g.get("lag")
        out[f"events_lag_{name}"] = float(lag) if lag is not None else -1.0
        out[f"events_pending_{name}"] = float(g["pending"])
    return out


def sample(cluster: Cluster, r: redis.Redis) -> Sample:
    s: Sample = {"unix_s": time.time()}
    for relay in cluster.relays:
        assert relay.process.proc is not None
        rss, fds = proc_status(relay.process.proc.pid)
        s[f"rss_mib_{relay.relay_id}"] = rss
        s[f"fds_{relay.relay_id}"] = fds
        s[f"goroutines_{relay.relay_id}"] = goroutines(relay.admin)
    for i, control in enumerate(cluster.controls):
        assert control.process.proc is not None
        rss, fds = proc_status(control.process.proc.pid)
        s[f"rss_mib_control-{i}"] = rss
        s[f"fds_control-{i}"] = fds
    s.update(redis_sample(r, cluster.prefix))
    return s


class Sampler(threading.Thread):
    def __init__(self, take: Callable[[], Sample], interval: float) -> None:
        super().__init__(daemon=True)
        self.take, self.interval = take, interval
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while True:
            try:
                self.samples.append(self.take())
            except Exception as exc:  # a failed sample is reported, not fatal
                self.errors.append(f"{time.strftime('%H:%M:%S')} {exc!r}")
            if self.stopping.wait(self.interval):
                return


# --- analysis ------------------------------------------------------------------


@dataclass
class Threshold:
    """A series is growing when its fitted growth per hour exceeds both floors."""

    absolute_per_h: float
    relative_per_h: float  # fraction of the series' mean after warm-up
    unit: str


def threshold(name: str) -> Threshold | None:
    if name == "events_stream_entries_added":
        return None  # every entry ever written: grows with traffic, by definition
    if name.startswith("rss_mib_") or (name.startswith("redis_") and name.endswith("_mib")):
        return Threshold(16, 0.10, "MiB")
    if name.startswith("goroutines_"):
        return Threshold(100, 0.10, "")
    if name.startswith("fds_"):
        return Threshold(50, 0.10, "")
    if name.startswith("events_lag_") or name.startswith("events_pending_"):
        return Threshold(1000, 0, "entries")
    if name == "events_stream_length":
        return Threshold(1000, 0, "entries")  # trimmed behind the groups: follows the lag
    return Threshold(100, 0.10, "keys")


def fit(samples: list[Sample], name: str, warmup_s: float, end_s: float) -> dict[str, Any]:
    """Least squares over the samples in [warmup_s, end_s] (seconds since the first)."""
    t0 = samples[0]["unix_s"]
    pts = [
        (s["unix_s"] - t0, s[name])
        for s in samples
        if name in s and warmup_s <= s["unix_s"] - t0 <= end_s
    ]
    out: dict[str, Any] = {"series": name, "points": len(pts)}
    vals = [s[name] for s in samples if name in s]
    out["min"], out["max"], out["last"] = min(vals), max(vals), vals[-1]
    if len(pts) < 3:
        out["verdict"] = "too few samples"
        return out
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    mean = statistics.fmean(ys)
    slope = 0.0 if len(set(ys)) == 1 else statistics.linear_regression(xs, ys).slope
    out["mean"], out["slope_per_h"] = mean, slope * 3600
    th = threshold(name)
    if th is None:
        out["verdict"] = "grows with traffic (a counter)"
        out["threshold"] = "-"
        return out
    limit = max(th.absolute_per_h, th.relative_per_h * abs(mean))
    out["threshold_per_h"] = limit
    unit = f" {th.unit}" if th.unit else ""
    out["threshold"] = (
        "any growth"
        if limit == 0
        else f"> {th.absolute_per_h:g}{unit}/h"
        if th.relative_per_h == 0
        else f"> max({th.absolute_per_h:g}{unit}, {th.relative_per_h:.0%} of mean)/h"
    )
    out["verdict"] = "growing" if slope * 3600 > limit else "flat"
    return out


#: Plots: (file, title, y label, series name prefixes or names).
CHARTS: list[tuple[str, str, str, list[str]]] = [
    ("soak-rss.png", "RSS of every process", "MiB", ["rss_mib_"]),
    ("soak-goroutines.png", "Relay goroutines (go_goroutines)", "goroutines", ["goroutines_"]),
    ("soak-fds.png", "Open file descriptors (/proc/PID/fd)", "FDs", ["fds_"]),
    (
        "soak-redis-memory.png",
        "Redis used_memory (and the events stream's share)",
        "MiB",
        ["redis_used_memory_mib", "redis_stream_memory_mib", "redis_memory_excluding_stream_mib"],
    ),
    (
        "soak-keys.png",
        "Redis keys and members by family",
        "count",
        [
            "redis_keys",
            "keys_snapshots",
            "tombstones_sessions_ended",
            "rooms_set",
            "room_lifetimes_fields",
            "keys_tickets_used",
            "keys_user_cache",
        ],
    ),
    (
        "soak-events.png",
        "Events stream: length (trimmed behind the groups), consumer lag and pending",
        "entries",
        ["events_stream_length", "events_lag_", "events_pending_"],
    ),
]


def chart_specs(samples: list[Sample], warmup_s: float) -> list[dict[str, Any]]:
    t0 = samples[0]["unix_s"]
    names = sorted({k for s in samples for k in s if k != "unix_s"})
    out = []
    for file, title, ylabel, wanted in CHARTS:
        chosen = [
            n for w in wanted for n in names if n == w or (w.endswith("_") and n.startswith(w))
        ]
        series = [
            {"name": n, "points": [[(s["unix_s"] - t0) / 60, s[n]] for s in samples if n in s]}
            for n in chosen
        ]
        out.append(
            {
                "file": file,
                "title": title,
                "y_label": ylabel,
                "series": series,
                "warmup_min": warmup_s / 60,
            }
        )
    return out


# --- report --------------------------------------------------------------------


def fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def render(meta: dict[str, Any], fits: list[dict[str, Any]], res: dict[str, Any], img: str) -> str:
    eo = res["exactly_once"]
    cfg = res["config"]
    lines = [
        "## Soak",
        "",
        f"Generated by `scripts/soak.py` on {meta['date']} (the run's end), started from commit `{meta['commit']}`"
        f" — **{'an' if meta['duration_label'][0] in '8' else 'a'} {meta['duration_label']} run** (`{meta['command']}`).",
        "The full soak is 30 minutes: `make soak`, i.e. `scripts/services.sh start` then"
        " `uv run python scripts/soak.py --duration 30m --write-docs` with `PLAZA_MONGO_URL` from"
        " `scripts/lib.sh` (about 32 minutes in all); raw samples, the driver's result and the logs stay in"
        " `.data/soak/<time>/`, and `scripts/soak.py --report DIR --write-docs` redraws this section from one.",
        f"Machine: `nproc` = {meta['nproc']}, {meta['cpu']}, kernel `{meta['kernel']}`;"
        f" load average before: {meta['load_before']}, after: {meta['load_after']}. Shared with other jobs.",
        "",
        "Stack (tests/system/cluster.py): 2 relays, 2 control planes (uvicorn), a private Redis 7"
        " (AOF), FerretDB. Traffic (`relay-go/bench/cmd/soak drive`):"
        f" {cfg['Slots']} rooms open at any time x {cfg['MembersPerRoom']} members, moves"
        f" {cfg['MoveHz']:g} Hz, chat {cfg['ChatPerSec']:g}/s per member, one room state key per member"
        f" set every {cfg['StateEvery'] / 1e9:g} s; each member stays"
        f" {cfg['StayMin'] / 1e9:g} to {cfg['StayMax'] / 1e9:g} s, leaves, and a returning player (two guests"
        f" alternate per seat) joins the same room through a control plane; each room ends after"
        f" {cfg['RoomLife'] / 1e9 * 0.75:g} to {cfg['RoomLife'] / 1e9 * 1.25:g} s (all its members leave; the"
        " relay closes it after the world's 30 s empty grace) and a room with a new id opens in its slot.",
        "",
        f"Churn: {res['joins']:,} joins, {res['leaves']:,} leaves, {res['rooms_opened']} rooms opened,"
        f" {res['rooms_ended']} emptied; join failures: {res['join_failures'] or 'none'};"
        f" {res['chats_sent']:,} chat lines, {res['moves_sent']:,} moves, {res['states_sent']:,} state sets;"
        f" client events: {res['events'] or 'none'}.",
        "",
        "### Chat exactly once",
        "",
        "Every line the relay confirmed (echoed to its sender, with its room sequence) must reach every"
        " session of its room whose observed sequence range covers it (a leaver: from its first to its"
        " last sequence; a member present at the end: everything from its first sequence, after every"
        " remaining member sent a last line and chat went quiet), exactly once and with the same text;"
        " the client also checks every reliable event is the previous sequence + 1.",
        "",
        "| confirmed lines | expected receipts | received | missing | duplicates | mismatched |"
        " sequence gaps / repeats | sessions checked (present at end) | unconfirmed (sender left first) |"
        " result |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {eo['confirmed']:,} | {eo['expected']:,} | {eo['received']:,} | {eo['missing']} |"
        f" {eo['duplicates']} | {eo['mismatched']} | {eo['seq_gaps']} / {eo['seq_repeats']} |"
        f" {eo['sessions_checked']:,} ({eo['sessions_present_at_end']}) | {eo['unconfirmed']} |"
        f" **{'met' if eo['ok'] else 'MISSED'}** |",
        "",
        "### Series",
        "",
        f"Sampled every {meta['interval']:g} s ({meta['samples']} samples). Slope: least squares over"
        f" the samples of the churn after warm-up (from {meta['warmup_s'] / 60:.1f} to {meta['churn_s'] / 60:.1f} min: the last 2/3 of the churn; the samples after it, once every member left, are plotted only), per hour.",
        "",
        "| series | min | max | last | mean after warm-up | slope per hour | threshold | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in fits:
        lines.append(
            f"| `{f['series']}` | {fmt(f['min'])} | {fmt(f['max'])} | {fmt(f['last'])} |"
            f" {fmt(f.get('mean', 0))} | {fmt(f.get('slope_per_h', 0))} | {f.get('threshold', '-')} |"
            f" {f['verdict']} |"
        )
    lines += ["", *[f"![{c[1]}]({img}/{c[0]})" for c in CHARTS], ""]
    return "\n".join(lines)


def replace_section(doc: Path, section: str) -> None:
    text = doc.read_text()
    m = re.search(r"^## Soak\n.*?(?=^## |\Z)", text, re.M | re.S)
    body = section.rstrip("\n") + "\n\n"
    text = text[: m.start()] + body + text[m.end() :] if m else text.rstrip("\n") + "\n\n" + body
    doc.write_text(text.rstrip("\n") + "\n")


def production_events() -> dict[str, str]:
    """cluster.py tunes the event consumers for failover tests (FAILOVER_EVENTS:
    batches of 8, entries claimed after 2 s; the first soak's `control` group
    fell behind with them); the soak runs the control plane's defaults, read
    from Settings so they cannot drift, including the maintenance intervals of
    the stream trim and of A room_lifetimes (decision 016)."""
    defaults = Settings()
    names = [
        "events_batch",
        "events_block_ms",
        "events_claim_idle_ms",
        "events_claim_interval_seconds",
        "events_trim_interval_seconds",
        "lifetimes_forget_interval_seconds",
    ]
    values = {n: getattr(defaults, n) for n in names}
    return {
        f"PLAZA_{n.upper()}": str(v) if isinstance(v, int) else f"{v:g}" for n, v in values.items()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--duration", type=parse_duration, default=1800.0, help="churn time (default 30m)"
    )
    ap.add_argument(
        "--interval", type=parse_duration, default=10.0, help="sample interval (default 10s)"
    )
    ap.add_argument("--rooms", type=int, default=10)
    ap.add_argument("--members-per-room", type=int, default=20)
    ap.add_argument("--room-life", default="90s")
    ap.add_argument("--stay-min", default="15s")
    ap.add_argument("--stay-max", default="60s")
    ap.add_argument("--out", type=Path, default=None, help="default .data/soak/<UTC time>")
    ap.add_argument(
        "--write-docs", action="store_true", help="write docs/benchmarks.md '## Soak' + docs/img"
    )
    ap.add_argument(
        "--notes",
        type=Path,
        default=None,
        help="a Markdown file appended to the section (findings)",
    )
    ap.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="no run: redo fits, plots and the section from the run directory DIR",
    )
    args = ap.parse_args(argv)
    if args.report is not None:
        return report(args.report.resolve(), args.write_docs, args.notes)
    if args.rooms <= 0 or args.members_per_room <= 0 or args.duration <= 0 or args.interval <= 0:
        ap.error("rooms, members per room, duration and interval must be positive")
    if "PLAZA_MONGO_URL" not in os.environ:
        ap.error("PLAZA_MONGO_URL must name the FerretDB to use (scripts/services.sh start)")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = (args.out or REPO / ".data" / "soak" / stamp).resolve()
    out.mkdir(parents=True, exist_ok=True)
    soak_bin = out / "soak"
    subprocess.run(
        ["go", "-C", "relay-go/bench", "build", "-o", str(soak_bin), "./cmd/soak"],
        cwd=REPO,
        check=True,
    )
    relay_bin = build_relay(out)
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    # The commit the processes start from (the tree may move on during the run).
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    (out / "cluster").mkdir(exist_ok=True)
    with running_cluster(
        out / "cluster",
        relay_bin,
        controls=2,
        relays=2,
        world_capacity=max(50, args.members_per_room),
        control_env=production_events(),
    ) as cluster:
        r = redis.Redis(port=cluster.redis_port)
        sampler = Sampler(lambda: sample(cluster, r), args.interval)
        drive = [
            str(soak_bin),
            "drive",
            "--control",
            ",".join(c.url for c in cluster.controls),
            "--world",
            "lobby",
            "--duration",
            f"{args.duration:g}s",
            "--rooms",
            str(args.rooms),
            "--members-per-room",
            str(args.members_per_room),
            "--room-life",
            args.room_life,
            "--stay-min",
            args.stay_min,
            "--stay-max",
            args.stay_max,
            "--out",
            str(out / "result.json"),
        ]
        sampler.start()
        with (out / "drive.log").open("wb") as log:
            rc = subprocess.run(drive, cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode
        time.sleep(min(args.interval, 5))  # one sample after the last leaves
        sampler.stopping.set()
        sampler.join()
        r.close()
        alive = {
            p.name: p.alive()
            for p in [*(x.process for x in cluster.relays), *(c.process for c in cluster.controls)]
        }
    if rc != 0:
        print((out / "drive.log").read_text()[-3000:], file=sys.stderr)
        print(f"soak: the traffic driver failed with {rc}", file=sys.stderr)
        return 1
    samples = sampler.samples
    if len(samples) < 2:
        print(f"soak: too few samples ({len(samples)}); errors: {sampler.errors}", file=sys.stderr)
        return 1
    (out / "samples.json").write_text(json.dumps(samples))
    label = f"{args.duration / 60:g}-minute" if args.duration >= 60 else f"{args.duration:g}-second"
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "commit": commit,
        "duration_label": label,
        "command": "uv run python scripts/soak.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "nproc": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "kernel": platform.release(),
        "load_before": load_before,
        "load_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "interval": args.interval,
        "samples": len(samples),
    }
    run = {"meta": meta, "sample_errors": sampler.errors, "processes_alive_at_end": alive}
    (out / "run.json").write_text(json.dumps(run, indent=2))
    return report(out, args.write_docs, args.notes)


def report(out: Path, write_docs: bool, notes: Path | None) -> int:
    """Fits, verdicts, plots and the docs section from a run directory."""
    samples: list[Sample] = json.loads((out / "samples.json").read_text())
    res = json.loads((out / "result.json").read_text())
    run_file = out / "run.json" if (out / "run.json").exists() else out / "summary.json"
    run = json.loads(run_file.read_text())
    meta, alive = run["meta"], run["processes_alive_at_end"]
    # The fit covers the churn only: the samples after it (every member left)
    # are plotted, not fitted. The sampler starts just before the driver.
    churn = float(res["config"]["Duration"]) / 1e9
    warmup = churn / 3
    meta["warmup_s"], meta["churn_s"] = warmup, churn
    names = sorted({k for s in samples for k in s if k != "unix_s"})
    fits = [fit(samples, n, warmup, churn) for n in names]
    (out / "plots.json").write_text(json.dumps(chart_specs(samples, warmup)))
    subprocess.run(
        [str(out / "soak"), "plot", "--spec", str(out / "plots.json"), "--dir", str(out)],
        check=True,
    )
    summary = {
        "meta": meta,
        "fits": fits,
        "exactly_once": res["exactly_once"],
        "sample_errors": run["sample_errors"],
        "processes_alive_at_end": alive,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    section = render(meta, fits, res, "img")
    if notes is not None:
        section += "\n" + notes.read_text().strip() + "\n"
    (out / "soak.md").write_text(section)
    for f in fits:
        print(
            f"{f['series']:34} last {fmt(f['last']):>10}  slope/h {fmt(f.get('slope_per_h', 0)):>10}  {f['verdict']}"
        )
    eo = res["exactly_once"]
    print(f"chat exactly once: {'met' if eo['ok'] else 'MISSED'} {eo}")
    print(f"output: {out}")
    if write_docs:
        img = REPO / "docs" / "img"
        for c in CHARTS:
            shutil.copy(out / c[0], img / c[0])
        replace_section(REPO / "docs" / "benchmarks.md", section)
        print("wrote docs/benchmarks.md ## Soak and docs/img/soak-*.png")
    return 0 if eo["ok"] and all(alive.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
