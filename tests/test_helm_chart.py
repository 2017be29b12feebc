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

_GO_CONST = re.compile(r"const ((?:\w+, )*\w+) = ((?:\"[a-z_]+\", )*\"[a-z_]+\")")
_GO_METRIC = re.compile(
    r"prometheus\.New(Counter|Gauge|Histogram)(?:Vec)?\(prometheus\.\w+Opts\{([^}]*)"
)
_GO_FIELD = re.compile(r"(Namespace|Subsystem|Name): (\"[a-z_]+\"|\w+)")
_PY_METRIC = re.compile(r"\b(Counter|Gauge|Histogram)\(\s*\"(plaza_[a-z_]+)\"")
_SUFFIXES = {"Counter": ("_total",), "Gauge": ("",), "Histogram": ("_bucket", "_sum", "_count")}


def _go_metrics(source: str) -> set[str]:
    consts: dict[str, str] = {}
    for names, values in _GO_CONST.findall(source):
        consts |= dict(zip(names.split(", "), re.findall(r'"([a-z_]+)"', values), strict=True))
    series: set[str] = set()
    for kind, opts in _GO_METRIC.findall(source):
        fields = {k: consts.get(v, v.strip('"')) for k, v in _GO_FIELD.findall(opts)}
        name = "_".join(fields[k] for k in ("Namespace", "Subsystem", "Name") if fields.get(k))
        # client_golang keeps a counter's name as written (ours end in _total).
        suffixes = ("",) if kind == "Counter" else _SUFFIXES[kind]
        series |= {name + suffix for suffix in suffixes}
    return series


def exported_series_names() -> set[str]:
    """Every Plaza series name the code exports (exact, with _total/_bucket/...):
    the relay's metric declarations (Go, every package) and the control plane's
    (Python prometheus-client; counters gain _total, no _created: disabled)."""
    names: set[str] = set()
    for source in (REPO_ROOT / "relay-go" / "internal").rglob("*.go"):
        if not source.name.endswith("_test.go"):
            names |= _go_metrics(source.read_text())
    for source in (REPO_ROOT / "control" / "plaza_control").rglob("*.py"):
        for kind, name in _PY_METRIC.findall(source.read_text()):
            names |= {name + suffix for suffix in _SUFFIXES[kind]}
    return names


def queried_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(plaza_[a-z_]+)\b", expr))


def test_exported_names_parse() -> None:
    names = exported_series_names()
    for expected in (
        "plaza_relay_sessions",
        "plaza_relay_messages_out_bytes_total",
        "plaza_relay_redis_up",
        "plaza_build_info",
        "plaza_relay_tick_duration_seconds_bucket",
        "plaza_control_commands_total",
        "plaza_control_events_ack_latency_seconds_bucket",
    ):
        assert expected in names
    assert "plaza_control_commands" not in names
    assert not [n for n in names if n.endswith("_created")]


def test_dashboard_queries_only_exported_metrics() -> None:
    """Strict: every Plaza name in every panel query is a series the code exports,
    spelled exactly (a counter without _total, a histogram without _bucket fails)."""
    dashboard = json.loads((CHART / "dashboards" / "plaza.json").read_text())
    exported = exported_series_names()
    missing: list[str] = []
    queried = 0
    for panel in dashboard["panels"]:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            names = queried_names(target["expr"])
            queried += len(names)
            missing += [f"{panel['title']}: {n}" for n in sorted(names - exported)]
    assert queried, "dashboard has no Plaza queries"
    assert not missing, f"dashboard queries series nobody exports: {missing}"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "namespace", "release", "relay"} <= variables


def test_alert_rules_query_only_exported_metrics() -> None:
    import yaml  # type: ignore[import-untyped]

    exported = exported_series_names()
    alerts: list[str] = []
    for rules in (CHART / "alerts").glob("*.rules.yaml"):
        for group in yaml.safe_load(rules.read_text())["groups"]:
            for rule in group["rules"]:
                alerts.append(rule["alert"])
                missing = queried_names(rule["expr"]) - exported
                assert not missing, f"{rule['alert']} queries {sorted(missing)}"
    assert alerts, "no alert rules"


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
        [helm, "template", "demo", str(CHART), "--namespace", "plaza", "--kube-version", "1.37.0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    kinds = re.findall(r"^kind: (\w+)$", rendered, flags=re.MULTILINE)
    for kind in ("StatefulSet", "Deployment", "Service", "Ingress", "PodDisruptionBudget"):
        assert kind in kinds, f"{kind} missing from rendered chart"
    for kind in ("Secret", "NetworkPolicy", "ConfigMap", "ServiceAccount", "Pod"):
        assert kind in kinds, f"{kind} missing from rendered chart"
    assert kinds.count("StatefulSet") == 1
    assert kinds.count("Deployment") == 1
    assert "PLAZA_RELAY_JWKS_URL" in rendered
    assert "http://demo-plaza-control:8080/.well-known/jwks.json" in rendered
