"""Wiring: a ``Reconciler`` from the settings and the app's services, and the
task that runs it in the app's lifespan (only with ``PLAZA_AUTOSCALER_ENABLED``).
"""

from __future__ import annotations

import asyncio

import structlog
from kubernetes.aio import client

from plaza_control.autoscaler import kube
from plaza_control.autoscaler.policy import Policy
from plaza_control.autoscaler.reconciler import OpsDrains, Reconciler, Status
from plaza_control.container import Services
from plaza_control.observability import Metrics
from plaza_control.settings import Settings

_log = structlog.get_logger("plaza.autoscaler")

#: Where the app keeps its reconciler (``app.state``), read by the ops route.
STATE_KEY = "autoscaler"


def policy_of(s: Settings) -> Policy:
    return Policy(
        min_relays=s.autoscaler_min_relays,
        max_relays=s.autoscaler_max_relays,
        headroom_percent=s.autoscaler_headroom_percent,
        rooms_per_relay=s.autoscaler_rooms_per_relay,
        stabilization_ms=s.autoscaler_scale_down_stabilization_seconds * 1000,
        max_concurrent_drains=s.autoscaler_max_concurrent_drains,
        drain_timeout_ms=s.autoscaler_drain_timeout_seconds * 1000,
    )


def relay_drain_seconds(s: Settings) -> int:
    """The drain deadline sent to a relay: half the autoscaler's, so the relay
    closes what is left (players told to move) well before the autoscaler gives up."""
    return max(1, s.autoscaler_drain_timeout_seconds // 2)


def build(
    svc: Services,
    api: client.ApiClient,
    *,
    metrics: Metrics | None = None,
    namespace: str | None = None,
) -> Reconciler:
    """A reconciler over ``api`` (the caller owns and closes it)."""
    s = svc.settings
    ns = namespace if namespace is not None else kube.resolve_namespace(s.autoscaler_namespace)
    return Reconciler(
        statefulset=kube.RelayStatefulSet(api, ns, s.autoscaler_statefulset),
        elector=kube.LeaseElector(
            api,
            ns,
            s.autoscaler_lease_name,
            s.autoscaler_identity or kube.default_identity(),
            s.autoscaler_lease_seconds,
        ),
        relays=svc.allocator.relays,
        drains=OpsDrains(svc.ops, svc.allocator, relay_drain_seconds(s)),
        policy=policy_of(s),
        metrics=(metrics or svc.metrics).autoscaler,
        dry_run=s.autoscaler_dry_run,
    )


def disabled_status(s: Settings) -> Status:
    """The ops view of a process that runs no reconciler (disabled, or enabled and
    still building its Kubernetes client)."""
    return Status(
        enabled=s.autoscaler_enabled,
        dry_run=s.autoscaler_dry_run,
        namespace=s.autoscaler_namespace,
        statefulset=s.autoscaler_statefulset,
        identity="",
        leader=False,
        holder="",
        current=None,
        wanted=None,
        stable=None,
        reason="starting" if s.autoscaler_enabled else "disabled (PLAZA_AUTOSCALER_ENABLED)",
        outcome="",
        draining=[],
        scale_down_target=None,
        last_pass_ms=0,
        last_error="",
        decisions=[],
    )


async def _run(state: object, svc: Services) -> None:
    s = svc.settings
    try:
        api = await kube.api_client(s.autoscaler_kubeconfig)
    except Exception as exc:
        _log.error("autoscaler has no Kubernetes client; not running", error=repr(exc))
        raise
    try:
        reconciler = build(svc, api)
        setattr(state, STATE_KEY, reconciler)
        _log.info(
            "autoscaler started",
            namespace=reconciler.status().namespace,
            statefulset=s.autoscaler_statefulset,
            identity=reconciler.status().identity,
            dry_run=s.autoscaler_dry_run,
        )
        await reconciler.run(s.autoscaler_interval_seconds)
    finally:
        await api.close()  # type: ignore[no-untyped-call]


def start_autoscaler(state: object, svc: Services) -> list[asyncio.Task[None]]:
    """The autoscaler's task when ``PLAZA_AUTOSCALER_ENABLED`` (else none). It sets
    ``state.autoscaler`` once its Kubernetes client is built."""
    if not svc.settings.autoscaler_enabled:
        return []
    return [asyncio.create_task(_run(state, svc), name="autoscaler")]
