"""The TypeScript SDK (sdk/ts) end to end against real relays and control planes.

Runs the Node scenario sdk/ts/test/e2e/scenario.ts (two clients: join, move,
chat in order, compare-and-set conflict, relay drain into the same room on
another relay, kick through the ops API) and the docs/clients.md example,
and asserts on what they print. Needs `scripts/sdk_ts.sh install` first
(node_modules); the test compiles the SDK itself so it runs the current code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .cluster import REPO_ROOT, Cluster, running_cluster

SDK = REPO_ROOT / "sdk" / "ts"
SCENARIO = SDK / "dist" / "sdk" / "ts" / "test" / "e2e" / "scenario.js"
CLIENTS_DOC = REPO_ROOT / "docs" / "clients.md"


@pytest.fixture(scope="module")
def sdk_built() -> Path:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Node 20+ is part of this machine; see docs/clients.md)")
    if not (SDK / "node_modules" / "typescript").is_dir():
        pytest.fail("sdk/ts/node_modules missing: run scripts/sdk_ts.sh install")
    subprocess.run(
        [node, str(SDK / "node_modules" / "typescript" / "bin" / "tsc"), "-p", str(SDK)],
        check=True,
        timeout=300,
    )
    return Path(node)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, relay_binary: Path) -> Any:
    """One control plane and two relays for this module. The docs example runs
    first and leaves the system as it found it; the scenario drains a relay."""
    with running_cluster(
        tmp_path_factory.mktemp("sdk-ts"), relay_binary, controls=1, relays=2
    ) as c:
        yield c


def _node_env(cluster: Cluster) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")}
    env.update(
        PLAZA_CONTROL_URL=cluster.controls[0].url,
        PLAZA_ADMIN_KEY=cluster.admin_key,
        PLAZA_WORLD="lobby",
    )
    return env


def _run_json(node: Path, script: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(
        [str(node), str(script)],
        cwd=SDK,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    why = f"{script.name} (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert lines, f"no JSON from {why}"
    out: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in out, f"{script.name} failed: {out['error']}\n{proc.stderr}"
    assert proc.returncode == 0, why
    return out


def _doc_example(doc: Path) -> str:
    """The one ```js block of ``doc`` marked as the runnable example."""
    text = doc.read_text(encoding="utf-8")
    marker = r"<!-- example: run by tests/system/test_sdk_ts.py -->\s*```js\n(.*?)```"
    m = re.search(marker, text, re.S)
    assert m, f"{doc.name} lost its runnable example block"
    return m.group(1)


def _run_doc_example(doc: Path, node: Path, cluster: Cluster) -> subprocess.CompletedProcess[str]:
    # Written inside sdk/ts so `@plaza/sdk` resolves by package self-reference
    # and `ws` from sdk/ts/node_modules, exactly as an app that installed both.
    script = SDK / "dist" / f"doc-example-{doc.stem}-{os.getpid()}.mjs"
    script.write_text(_doc_example(doc), encoding="utf-8")
    try:
        proc = subprocess.run(
            [str(node), str(script)],
            cwd=SDK,
            env=_node_env(cluster),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        script.unlink(missing_ok=True)
    assert proc.returncode == 0, f"{doc.name} example failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_readme_example_runs(sdk_built: Path, cluster: Cluster) -> None:
    """The README's short TypeScript recipe, as written: it signs in, joins,
    prints its own chat line as the relay broadcast it, moves and leaves."""
    proc = _run_doc_example(REPO_ROOT / "README.md", sdk_built, cluster)
    assert "Ada: hello, plaza" in proc.stdout, proc.stdout


def test_clients_doc_example_runs(sdk_built: Path, cluster: Cluster) -> None:
    proc = _run_doc_example(CLIENTS_DOC, sdk_built, cluster)
    assert "joined lobby." in proc.stdout, proc.stdout
    assert "Ada: hello, plaza" in proc.stdout, proc.stdout
    assert "walked to" in proc.stdout, proc.stdout


def test_sdk_scenario_against_real_relays(sdk_built: Path, cluster: Cluster) -> None:
    out = _run_json(sdk_built, SCENARIO, _node_env(cluster), timeout=120)
    print(json.dumps(out, indent=1))  # shown by pytest when an assertion below fails

    join = out["join"]
    assert join["bobRoom"] == join["room"]
    assert join["aliceMembers"] == 2
    assert join["bobSeesAlice"]

    assert out["movement"]["bobSawX"] == 10
    assert out["movement"]["bobViewX"] == 10
    assert out["movement"]["rttMs"] >= 0
    assert abs(out["movement"]["clockOffsetMs"]) < 250

    chat = out["chat"]
    assert chat["bobOrder"] == ["one", "two", "three", "four", "five"]
    seqs = chat["ackSequences"]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    assert chat["bobSequences"] == seqs

    state = out["state"]
    assert state["conflict"] == "StateVersionConflict"
    assert state["secondVersion"] > state["firstVersion"] > 0
    assert state["aliceValue"] == "off"

    extras = out["extras"]
    assert extras["waveOwn"]
    assert extras["bobEmotes"] == ["wave"]
    assert extras["emptyChat"] == "ChatEmpty"
    assert extras["announcements"] == ["welcome to the e2e"]

    drain = out["drain"]
    for who in ("aliceNotices", "bobNotices"):
        notice = drain[who][0]
        assert notice["closeCode"] == 4006, drain[who]
        assert notice["rejoin"]
        assert notice["roomId"] == join["room"]
    assert drain["aliceCloses"][0]["code"] == 4006
    assert drain["aliceCloses"][0]["willReconnect"]
    assert not drain["aliceCloses"][0]["terminal"]
    # The first rejoin waits at least the drain's retry_after_ms hint.
    hint = drain["aliceNotices"][0]["retryAfterMs"]
    assert drain["aliceReconnects"][0]["delayMs"] >= hint
    for who in ("aliceWelcome", "bobWelcome"):
        w = drain[who]
        assert w["resumed"], w
        assert w["roomId"] == join["room"], w
        assert w["relayId"] != drain["drainedRelay"], w
        assert w["sequence"] >= drain["beforeDrainSeq"], w
    assert drain["aliceWelcome"]["relayId"] == drain["bobWelcome"]["relayId"]
    for who in ("aliceLight", "bobLight"):
        assert drain[who] == {"value": "off", "version": state["secondVersion"]}, drain[who]
    assert drain["during"]["delivered"], drain["during"]
    assert drain["historyCountOfDuring"] == 1
    history = out["history"]
    assert history["roomId"] == join["room"]
    lines = ["one", "two", "three", "four", "five"]
    assert [t for t in history["texts"] if t in lines] == lines
    assert history["sequences"] == sorted(history["sequences"])
    assert drain["afterSequence"] > drain["during"]["sequence"]
    assert drain["bobOrderAfter"].count("after the drain") == 1

    kick = out["kick"]
    assert kick["code"] == 4107, kick
    assert kick["terminal"], kick
    assert not kick["willReconnect"], kick
    assert kick["status"] == "closed"
    assert kick["lastNotice"]["closeCode"] == 4107
    assert not kick["lastNotice"]["rejoin"]
    assert kick["reconnectsAfterKick"] == 0
    assert kick["chatAfterKick"] == "closed"
    assert kick["aliceSawBobLeave"]

    assert out["leave"]["status"] == "closed"
    assert out["leave"]["lastClose"]["code"] == 1000
