"""The Helm chart renders with real helm, and its dashboard only queries metrics Plaza exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CHART = REPO_ROOT / "charts" / "plaza"
HELM = REPO_ROOT / ".tools" / "bin" / "helm"

# Suffixes Prometheus adds to histogram and counter series.
_SERIES_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def exported_metric_names() -> set[str]:
    """Metric names declared in the relay (Go) and control plane (Python, any module) code."""
    names: set[str] = set()
    relay = (REPO_ROOT / "relay-go" / "internal" / "metrics" / "metrics.go").read_text()
    namespace = re.search(r'const ns = "([a-z_]+)"', relay)
    assert namespace, "relay metrics namespace not found"
    names |= {f"{namespace[1]}_{n}" for n in re.findall(r'Name: "([a-z_]+)"', relay)}
    for source in (REPO_ROOT / "control" / "plaza_control").rglob("*.py"):
        names |= set(re.findall(r'"(plaza_control_[a-z_]+)"', source.read_text()))
    return names


def base_name(series: str) -> str:
    for suffix in _SERIES_SUFFIXES:
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series


def test_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads((CHART / "dashboards" / "plaza.json").read_text())
    exported = {base_name(n) for n in exported_metric_names()}
    queried: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queried |= set(re.findall(r"\b(plaza_[a-z_]+)", target["expr"]))
    assert queried, "dashboard has no Plaza queries"
    missing = sorted(q for q in queried if base_name(q) not in exported)
    assert not missing, f"dashboard queries metrics nobody exports: {missing}"


@pytest.fixture(scope="module")
def helm() -> str:
    found = str(HELM) if HELM.exists() else shutil.which("helm")
    assert found, "helm not installed: run scripts/bootstrap.sh"
    return found


def test_chart_lints(helm: str) -> None:
    result = subprocess.run([helm, "lint", "--strict", str(CHART)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_chart_renders_every_component(helm: str) -> None:
    rendered = subprocess.run(
        [helm, "template", "demo", str(CHART), "--namespace", "plaza"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    kinds = re.findall(r"^kind: (\w+)$", rendered, flags=re.MULTILINE)
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "Role", "ConfigMap"):
        assert kind in kinds, f"{kind} missing from rendered chart"
    assert kinds.count("Deployment") == 2
    assert "PLAZA_RELAY_JWKS_URL" in rendered
    assert "http://demo-plaza-control:8080/.well-known/jwks.json" in rendered
