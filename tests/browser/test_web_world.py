"""The web world and ops console in a real browser, against real processes.

Two control planes serve the built app (``PLAZA_WEB_DIR``) over two relays,
Redis and FerretDB (``system.cluster``); ``web/test/browser/world-scenario.ts``
drives Debian's Chromium through playwright-core (two players and an
operator) and prints one JSON object, which this test checks. Screenshots
land in the test's tmp dir (the path is printed). Needs ``scripts/web.sh
install`` (chromium from apt, web/node_modules); builds the app itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from system.cluster import REPO_ROOT, Cluster, build_relay, running_cluster

WEB = REPO_ROOT / "web"
CHROMIUM = os.environ.get("PLAZA_CHROMIUM", "/usr/bin/chromium")
SCENARIO_TIMEOUT_S = 240


def _require_tools() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"chromium at {CHROMIUM}")
    if shutil.which("node") is None:
        missing.append("node")
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        missing.append("web/node_modules (npm ci)")
    if missing:
        pytest.fail(f"browser test needs {', '.join(missing)}: run scripts/web.sh install")


@pytest.fixture(scope="module")
def web_dist() -> Path:
    """The app built from the working tree into web/dist, and the scenario
    into web/.build/scenario (under web/, so it imports web/node_modules)."""
    _require_tools()
    subprocess.run(["node", "build.mjs"], cwd=WEB, check=True, timeout=120)
    out = WEB / ".build" / "scenario"
    subprocess.run(["node", "build.mjs", "--scenario", str(out)], cwd=WEB, check=True, timeout=120)
    return out


@pytest.fixture
def web_cluster(tmp_path: Path, web_dist: Path) -> Iterator[Cluster]:
    binary = build_relay(tmp_path)
    workdir = tmp_path / "cluster"
    workdir.mkdir()
    with running_cluster(
        workdir,
        binary,
        controls=2,
        relays=2,
        control_env={"PLAZA_WEB_DIR": str(WEB / "dist")},
    ) as cluster:
        yield cluster


def _run_scenario(cluster: Cluster, script: Path, shots: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")}
    env.update(
        PLAZA_SCENARIO_CONTROL_URL=cluster.controls[0].url,
        PLAZA_SCENARIO_API_KEY=cluster.admin_key,
        PLAZA_SCENARIO_OUT=str(shots),
        PLAZA_CHROMIUM=CHROMIUM,
    )
    proc = subprocess.run(
        ["node", str(script)],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_S,
        check=False,
    )
    print(proc.stderr)
    print(f"browser screenshots: {shots}")
    lines = proc.stdout.strip().splitlines()
    assert lines, f"the scenario printed nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0, f"scenario failed: {result.get('error')}\n{cluster.logs()}"
    return result


def test_two_players_drain_and_kick(web_cluster: Cluster, web_dist: Path, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    result = _run_scenario(web_cluster, web_dist / "world-scenario.mjs", shots)

    assert result["ok"] is True
    assert result["page_errors"] == []
    relays = {r.relay_id for r in web_cluster.relays}
    assert result["drained_relay"] in relays
    assert result["new_relay"] in relays
    assert result["new_relay"] != result["drained_relay"]
    chat = ["one", "two", "three", "four from Bob", "said during the drain"]
    note = result["note"]
    assert note["conflict"] == "meet at the lamp at 9"  # Bob's stale save showed Alice's newer note
    assert note["v1"] < note["v2"] < note["v3"]
    for who in ("Alice", "Bob"):
        assert result["resumed"][who] == {
            "chat": chat,
            "light": "off",
            "note": "Bob: I bring the snacks",
            "note_version": note["v3"],
        }
    assert "You were kicked: scenario: kicked to test the console" in result["kicked"]["banner"]
    assert result["kicked"]["bobStatus"] == "closed"
    assert "kicked Bob" in result["kicked"]["consoleStatus"]
    assert result["kicked"]["kickAck"] == "ok"
    assert result["found"]["room"] == result["room"]
    assert result["found"]["activeSessions"] >= 1
    assert result["created_key"]["viewerListing"] == 403
    assert result["created_key"]["revoked"] == 401
    moved = result["moved"]
    assert moved["walked"]["x"] > moved["start"]["x"] + 1
    for shot in result["screenshots"]:
        assert Path(shot).stat().st_size > 10_000, shot
    assert {Path(s).name for s in result["screenshots"]} >= {
        "world-alice.png",
        "world-note-conflict.png",
        "world-after-drain.png",
        "console-members.png",
        "world-bob-kicked.png",
    }
