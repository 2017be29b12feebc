"""``GET /v1/ops/autoscaler`` and the parts of the autoscaler that need no
Kubernetes server: the annotation codec, the namespace and MicroTime rules, the
settings, and a pass against an API server that does not answer (it fails,
is counted and shown, and writes nothing to Redis)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from kubernetes.aio import client as k8s
from litestar.testing import AsyncTestClient

from plaza_control.autoscaler import kube
from plaza_control.autoscaler.policy import ScaleDown
from plaza_control.autoscaler.reconciler import OpsDrains, Reconciler
from plaza_control.autoscaler.service import STATE_KEY, policy_of, relay_drain_seconds
from plaza_control.container import Services
from plaza_control.errors import ConfigError
from plaza_control.models import Role
from plaza_control.observability import Metrics
from plaza_control.settings import Settings

from .helpers import make_api_key


def test_annotations_round_trip() -> None:
    state = ScaleDown(target=2, relays=("plaza-relay-3", "plaza-relay-2"), started_ms=123)
    encoded = kube.encode_state(state)
    assert encoded == {
        "autoscaler.plaza.dev/target": "2",
        "autoscaler.plaza.dev/draining": "plaza-relay-3,plaza-relay-2",
        "autoscaler.plaza.dev/drain-started-ms": "123",
    }
    assert kube.decode_state({k: v for k, v in encoded.items() if v is not None}) == state
    assert all(v is None for v in kube.encode_state(None).values())
    assert kube.decode_state({}) is None
    # Unreadable: treated as no scale-down (nothing is lowered on it).
    assert kube.decode_state({kube.TARGET: "two"}) is None


def test_namespace_resolution(tmp_path: Path) -> None:
    sa = tmp_path / "namespace"
    assert kube.resolve_namespace("games", sa) == "games"
    assert kube.resolve_namespace("", sa) == "default"
    sa.write_text("plaza-prod\n")
    assert kube.resolve_namespace("", sa) == "plaza-prod"


def test_micro_time_always_has_six_fraction_digits() -> None:
    assert kube._micro_time(0) == "1970-01-01T00:00:00.000000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", kube._micro_time(1.5))


def test_settings_from_env() -> None:
    s = Settings.from_env(
        {
            "PLAZA_AUTOSCALER_ENABLED": "true",
            "PLAZA_AUTOSCALER_MIN_RELAYS": "2",
            "PLAZA_AUTOSCALER_MAX_RELAYS": "10",
            "PLAZA_AUTOSCALER_HEADROOM_PERCENT": "30",
            "PLAZA_AUTOSCALER_DRAIN_TIMEOUT_SECONDS": "120",
            "PLAZA_AUTOSCALER_INTERVAL_SECONDS": "2.5",
        }
    )
    p = policy_of(s)
    assert (p.min_relays, p.max_relays, p.headroom_percent) == (2, 10, 30)
    assert p.drain_timeout_ms == 120_000
    assert relay_drain_seconds(s) == 60
    assert s.autoscaler_interval_seconds == 2.5
    with pytest.raises(ConfigError):
        Settings.from_env({"PLAZA_AUTOSCALER_HEADROOM_PERCENT": "95"})
    with pytest.raises(ConfigError):
        Settings.from_env({"PLAZA_AUTOSCALER_MIN_RELAYS": "0"})
    with pytest.raises(ConfigError, match="min_relays"):
        Settings.from_env({"PLAZA_AUTOSCALER_MIN_RELAYS": "5", "PLAZA_AUTOSCALER_MAX_RELAYS": "4"})


async def test_disabled_view(client: AsyncTestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    assert (await client.get("/v1/ops/autoscaler")).status_code == 401
    key = await make_api_key(settings, Role.VIEWER)
    resp = await client.get("/v1/ops/autoscaler", headers={"X-API-Key": key})
    assert resp.status_code == 200
    body = resp.json()
    assert body["enabled"] is False
    assert body["leader"] is False
    assert body["decisions"] == []
    assert body["current"] is None


def _unreachable_reconciler(svc: Services, metrics: Metrics, api: k8s.ApiClient) -> Reconciler:
    return Reconciler(
        statefulset=kube.RelayStatefulSet(api, "plaza", "plaza-relay"),
        elector=kube.LeaseElector(api, "plaza", "plaza-autoscaler", "me", 15),
        relays=svc.allocator.relays,
        drains=OpsDrains(svc.ops, svc.allocator, 10),
        policy=policy_of(svc.settings),
        metrics=metrics.autoscaler,
    )


async def test_a_pass_against_no_api_server_fails_and_says_so(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    redis_client: Any,
) -> None:
    app: Any = client.app
    svc: Services = app.state.services
    metrics = Metrics()
    api = k8s.ApiClient(configuration=k8s.Configuration(host="https://127.0.0.1:1"))
    rec = _unreachable_reconciler(svc, metrics, api)
    try:
        assert await rec.reconcile() is None
    finally:
        await api.close()  # type: ignore[no-untyped-call]
    status = rec.status()
    assert status.last_error
    assert not status.leader
    assert metrics.registry.get_sample_value("plaza_control_autoscaler_errors_total") == 1
    assert not await redis_client.smembers(svc.keyspace.draining)
    setattr(app.state, STATE_KEY, rec)
    key = await make_api_key(settings, Role.VIEWER)
    resp = await client.get("/v1/ops/autoscaler", headers={"X-API-Key": key})
    assert resp.status_code == 200
    body = resp.json()
    assert body["statefulset"] == "plaza-relay"
    assert body["namespace"] == "plaza"
    assert body["identity"] == "me"
    assert body["last_error"] == status.last_error
