"""W5 — relay scale-down (and scale-up) under load, measured (docs/benchmarks.md).

Starts a real etcd + kube-apiserver + kube-controller-manager
(tests/kube/apiserver.py; build them once with scripts/install_kube_tools.sh),
then per run a namespace with the chart's RBAC and relay StatefulSet, a Plaza
(1 control plane, private Redis, the FerretDB at PLAZA_MONGO_URL) and relay
processes named as the Pods, and runs the scenarios of
tests/kube/test_autoscaler_w5.py. Prints each run and the spread.

    PLAZA_MONGO_URL=mongodb://127.0.0.1:27402/ uv run python scripts/bench_w5.py --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "control")]

from kube.apiserver import KubeCluster, running_kube_cluster  # noqa: E402
from kube.test_autoscaler import rig_context  # noqa: E402
from kube.test_autoscaler_w5 import (  # noqa: E402
    ScaleDownResult,
    ScaleUpResult,
    scale_down_under_load,
    scale_up_under_load,
)
from system.cluster import build_relay  # noqa: E402


def _spread(values: list[int]) -> str:
    return f"min {min(values)}, median {statistics.median(values):.0f}, max {max(values)}"


async def _runs(kube: KubeCluster, relay: Path, work: Path, runs: int) -> int:
    downs: list[ScaleDownResult] = []
    ups: list[ScaleUpResult] = []
    failures = 0
    for i in range(runs):
        async with rig_context(kube, relay, work / f"down-{i}", 4) as rig:
            d = await scale_down_under_load(rig)
        downs.append(d)
        ok = (
            d.removed == d.drained
            and d.sessions_lost == 0
            and d.chat_lost == 0
            and d.same_room_with_state_and_sequence == d.moved
            and d.lowered_when_empty
        )
        failures += not ok
        print(
            f"scale-down run {i + 1}: removed {d.removed} drained {d.drained}; "
            f"players {d.players}, moved {d.moved}, back in room with state+sequence "
            f"{d.same_room_with_state_and_sequence}; sessions lost {d.sessions_lost}; "
            f"chat sent {d.chat_sent}, lost {d.chat_lost} (unacked while moving {d.unacked}); "
            f"decision -> replicas lowered {d.decision_to_lowered_ms} ms; writes {d.writes}"
            f"{'' if ok else '  <-- FAILED'}",
            flush=True,
        )
        async with rig_context(kube, relay, work / f"up-{i}", 2) as rig:
            u = await scale_up_under_load(rig)
        ups.append(u)
        failures += u.replicas_after != u.replicas_before + 1 or u.pass_to_pod_created_ms < 0
        print(
            f"scale-up run {i + 1}: replicas {u.replicas_before} -> {u.replicas_after}; "
            f"pass -> replicas written {u.pass_to_written_ms} ms, "
            f"-> Pod created {u.pass_to_pod_created_ms} ms",
            flush=True,
        )
    print()
    print(f"W5 summary over {runs} runs:")
    print(
        f"  scale-down decision -> replicas lowered (ms): "
        f"{_spread([d.decision_to_lowered_ms for d in downs])}"
    )
    print(
        f"  sessions lost: {sum(d.sessions_lost for d in downs)}, "
        f"chat lost: {sum(d.chat_lost for d in downs)} of {sum(d.chat_sent for d in downs)}"
    )
    print(
        f"  scale-up pass -> replicas written (ms): {_spread([u.pass_to_written_ms for u in ups])}"
    )
    print(
        f"  scale-up pass -> Pod created (ms): {_spread([u.pass_to_pod_created_ms for u in ups])}"
    )
    return failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores; "
        f"python {platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-w5-") as tmp:
        work = Path(tmp)
        relay = build_relay(work)
        with running_kube_cluster(work / "kube") as kube:
            failures = asyncio.run(_runs(kube, relay, work, args.runs))
    print("W5: OK" if failures == 0 else f"W5: {failures} run(s) FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
