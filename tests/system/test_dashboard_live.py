"""Every panel of the Grafana dashboard has data on a freshly started system:
with players connected and chatting, the ``/metrics`` of every relay (admin
port) and every control plane is scraped, and each metric a panel or a
dashboard variable queries must be there with at least one sample, on every
process of the program that exports it. (``tests/test_helm_chart.py`` checks
the names against the code; this checks them against running processes.)"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .cluster import REPO_ROOT, Cluster, running_cluster
from .player import Player

DASHBOARDS = REPO_ROOT / "charts" / "plaza" / "dashboards"
#: A metric name right before a PromQL selector (``name{...}``), or any Plaza name
#: (``label_values(plaza_build_info, namespace)`` has no selector).
_SELECTED = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")
_PLAZA = re.compile(r"\b(plaza_[a-z_]+)\b")


def queried_metrics() -> dict[str, set[str]]:
    """Metric name -> where it is queried (``dashboard: panel``), from every
    panel target and every query variable of every dashboard."""
    found: dict[str, set[str]] = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        queries: list[tuple[str, str]] = []
        for panel in board["panels"]:
            queries += [(panel["title"], t["expr"]) for t in panel.get("targets", [])]
        for var in board.get("templating", {}).get("list", []):
            query = var.get("query")
            text = query.get("query", "") if isinstance(query, dict) else str(query or "")
            if var.get("type") == "query":
                queries.append((f"variable {var['name']}", text))
        for where, expr in queries:
            for name in set(_SELECTED.findall(expr)) | set(_PLAZA.findall(expr)):
                found.setdefault(name, set()).add(f"{path.name}: {where}")
    return found


def sample_names(exposition: str) -> set[str]:
    """Names of the samples in a Prometheus text exposition (``x_total``,
    ``x_bucket``: as PromQL sees them), only those with at least one sample."""
    return {s.name for family in text_string_to_metric_families(exposition) for s in family.samples}


def program_of(name: str) -> str:
    """Which program must export a queried name: ``relay``, ``control`` or ``both``.
    The dashboard reads ``process_*`` of the control plane (``job=~".*control.*"``)."""
    if name.startswith("plaza_relay_"):
        return "relay"
    if name.startswith(("plaza_control_", "process_")):
        return "control"
    return "both"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, relay_binary: Path) -> Iterator[Cluster]:
    with running_cluster(
        tmp_path_factory.mktemp("dashboard"), relay_binary, controls=2, relays=2, world_capacity=2
    ) as c:
        yield c


async def _scrape(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.get(url)
    assert resp.status_code == 200, f"{url}: {resp.status_code}"
    return resp.text


async def test_every_panel_query_has_live_samples(cluster: Cluster) -> None:
    queried = queried_metrics()
    assert len(queried) >= 20, f"too few metrics found in the dashboards: {sorted(queried)}"
    # Four players in two rooms (capacity 2), chatting: rooms on both relays.
    urls = [c.url for c in cluster.controls]
    players = [Player(urls[i % 2], f"dash{i}") for i in range(4)]
    async with httpx.AsyncClient(timeout=20) as http:
        for p in players:
            await p.sign_in(http)
            await p.join_and_connect(http)
    try:
        for p in players:
            await p.chat(f"hello from {p.name}")
        for p in players:
            await p.wait_for(lambda _e, p=p: len(p.chats()) >= 2, within=10)
        # Gauges set by loops (sweep, pings, consumer lag: every second here).
        await asyncio.sleep(2.5)
        targets = {f"relay {r.relay_id}": f"{r.admin}/metrics" for r in cluster.relays}
        targets |= {f"control :{c.port}": f"{c.url}/metrics" for c in cluster.controls}
        deadline = time.monotonic() + 15
        while True:
            texts = await asyncio.gather(*(_scrape(u) for u in targets.values()))
            names = dict(zip(targets, (sample_names(t) for t in texts), strict=True))
            missing = sorted(
                f"{name} on {process} (queried by {sorted(where)})"
                for name, where in queried.items()
                for process, present in names.items()
                if program_of(name) in ("both", process.split()[0]) and name not in present
            )
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        assert not missing, "panels without data:\n" + "\n".join(missing)
    finally:
        await asyncio.gather(*(p.close() for p in players))
