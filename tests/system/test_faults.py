"""The short fault matrix (scripts/faults.py --short) under load, held to its must-be-zero numbers.

Each fault runs once, one after the other on one cluster (2 relays, 2
control planes, a private Redis, the FerretDB at PLAZA_MONGO_URL; what a
fault killed is started again before the next one), with players moving,
chatting and setting state in several rooms while it happens
(docs/benchmarks.md "Fault matrix" says what each number means). Only the
recovery deadline is a time bound (60 s per player, generous for a loaded
2-core machine); every assertion is a count.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import faults

CHAT = ("lost_present", "history_lost", "dup_deliveries", "dup_history")
SEQUENCE_AND_STATE = ("gaps", "repeats", "seq_back", "seq_reused", "state_lost")

Run = Callable[[str], faults.Outcome]


@pytest.fixture(scope="module")
def run_fault(tmp_path_factory: pytest.TempPathFactory, relay_binary: Path) -> Iterator[Run]:
    """Runs each fault of the short matrix once, one after the other on one cluster."""
    done: dict[str, faults.Outcome] = {}
    work = tmp_path_factory.mktemp("faults")
    with faults.fault_cluster(relay_binary, work, faults.SHORT) as cluster:

        def run(fault: str) -> faults.Outcome:
            if fault not in done:
                out = asyncio.run(faults.run_fault(fault, cluster, faults.SHORT, None))
                print(faults.table([out]))
                assert out.acked > 0, "no chat line was acknowledged: the load did not run"
                done[fault] = out
            return done[fault]

        yield run


def _nonzero(out: faults.Outcome, names: tuple[str, ...]) -> dict[str, int]:
    return {k: v for k, v in out.must_be_zero().items() if k in names and v}


def test_relay_kill9_loses_no_chat(run_fault: Run) -> None:
    out = run_fault("relay-kill9")
    assert out.disconnected > 0, "the killed relay hosted no player"
    assert _nonzero(out, CHAT) == {}, faults.row(out)


def test_relay_kill9_keeps_the_sequence(run_fault: Run) -> None:
    # The room reopens from its relay's last periodic snapshot, which may be
    # behind what that relay delivered; the new host continues above a gap
    # (relay.SequenceGapAfterLostState), so no number is reused and no
    # Welcome goes back.
    out = run_fault("relay-kill9")
    assert _nonzero(out, ("gaps", "repeats", "seq_back", "seq_reused")) == {}, faults.row(out)


@pytest.mark.xfail(
    strict=False,
    reason=(
        "finding (issue 15 §3): after kill -9 a room reopens from its relay's last "
        "periodic snapshot (written at most every 100 ms, redisbridge/states.go), so a "
        "state key set in the last ≤ 100 ms before the crash is lost (its StateChanged "
        "was delivered, the snapshot never had it). Not strict: whether the kill lands "
        "in such a window depends on timing (3 of 7 runs on 2026-12-01)."
    ),
)
def test_relay_kill9_keeps_state(run_fault: Run) -> None:
    out = run_fault("relay-kill9")
    assert _nonzero(out, ("state_lost",)) == {}, faults.row(out)


def test_redis_pause_loses_nothing(run_fault: Run) -> None:
    out = run_fault("redis-pause")
    assert _nonzero(out, CHAT + SEQUENCE_AND_STATE) == {}, faults.row(out)


def test_control_plane_kill9_loses_nothing(run_fault: Run) -> None:
    out = run_fault("control-kill9")
    assert _nonzero(out, CHAT + SEQUENCE_AND_STATE) == {}, faults.row(out)
