"""A short run of the soak (scripts/soak.py): the harness samples every series,
draws every plot, and the chat exactly-once check passes under churn.

The slopes of a 25-second run mean nothing and are not checked; `make soak`
(30 minutes) is where they are judged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .cluster import REPO_ROOT

#: Every series the soak must sample (relays and control planes by name).
SERIES = [
    *(f"{kind}_relay-{i}" for kind in ("rss_mib", "fds", "goroutines") for i in (0, 1)),
    *(f"{kind}_control-{i}" for kind in ("rss_mib", "fds") for i in (0, 1)),
    "redis_used_memory_mib",
    "redis_stream_memory_mib",
    "redis_memory_excluding_stream_mib",
    "redis_keys",
    "keys_snapshots",
    "keys_legacy_tombstones",
    "keys_room_allocations",
    "keys_tickets_used",
    "keys_user_cache",
    "tombstones_sessions_ended",
    "rooms_set",
    "room_lifetimes_fields",
    "events_stream_length",
    "events_stream_entries_added",
    "events_lag_control",
    "events_lag_seats",
    "events_pending_control",
    "events_pending_seats",
]

PLOTS = ["rss", "goroutines", "fds", "redis-memory", "keys", "events"]


def test_soak_smoke_samples_every_series_and_chat_is_exactly_once(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    args = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "soak.py"),
        "--duration", "25s",
        "--interval", "2s",
        "--rooms", "3",
        "--members-per-room", "6",
        "--room-life", "10s",
        "--stay-min", "3s",
        "--stay-max", "8s",
        "--out", str(out),
    ]  # fmt: skip
    env = dict(os.environ)
    env.setdefault("PLAZA_MONGO_URL", "mongodb://127.0.0.1:27217/")
    proc = subprocess.run(
        args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    samples = json.loads((out / "samples.json").read_text())
    assert len(samples) >= 10, len(samples)
    for name in SERIES:
        have = sum(1 for s in samples if name in s)
        assert have == len(samples), f"{name} in {have} of {len(samples)} samples"
    # Real readings, not placeholders: processes have memory and sockets,
    # the stream has events, both groups report a lag.
    last = samples[-1]
    assert all(last[f"rss_mib_relay-{i}"] > 1 and last[f"fds_relay-{i}"] > 3 for i in (0, 1))
    assert all(last[f"goroutines_relay-{i}"] > 1 for i in (0, 1))
    assert last["events_stream_length"] > 0
    # The control plane trims the stream behind both groups (every 10 s).
    assert last["events_stream_length"] < last["events_stream_entries_added"], last
    assert last["events_lag_control"] >= 0
    assert last["events_lag_seats"] >= 0

    summary = json.loads((out / "summary.json").read_text())
    fitted = {f["series"]: f for f in summary["fits"]}
    assert set(SERIES) <= set(fitted)
    assert all(f["verdict"] for f in fitted.values())
    assert summary["sample_errors"] == []
    assert all(summary["processes_alive_at_end"].values())

    for p in PLOTS:
        png = out / f"soak-{p}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png

    result = json.loads((out / "result.json").read_text())
    # Churn happened: rooms closed and opened, members left and rejoined.
    assert result["rooms_opened"] > 3, result
    assert result["rooms_ended"] >= 3, result
    assert result["leaves"] > 18, result
    assert result["joins"] > 18, result
    assert result["join_failures"] == {}, result["join_failures"]
    eo = result["exactly_once"]
    assert eo["ok"], eo
    assert eo["confirmed"] > 0, eo
    assert eo["expected"] >= eo["confirmed"], eo
    assert eo["missing"] == eo["duplicates"] == eo["mismatched"] == 0, eo
    assert eo["sessions_present_at_end"] > 0, eo
    assert "## Soak" in (out / "soak.md").read_text()
