"""The autoscaler's series, on the app's registry (``Metrics.autoscaler``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from plaza_control.autoscaler.policy import OUTCOMES


class AutoscalerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter(
            "plaza_control_autoscaler_decisions",
            "Reconciler passes by outcome (steady, scale-up, scale-down-start, "
            "waiting-for-drain, scale-down, cancel, drain-timeout); counted by the "
            "leader only, and in dry-run by every process",
            ["outcome"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.decisions.labels(outcome)
        self.replicas = Gauge(
            "plaza_control_autoscaler_replicas",
            "Relay replicas: current (the StatefulSet's spec), wanted (what the load "
            "needs now), stable (wanted after the scale-down window)",
            ["kind"],
            registry=registry,
        )
        for kind in ("current", "wanted", "stable"):
            self.replicas.labels(kind)
        self.draining = Gauge(
            "plaza_control_autoscaler_draining_relays",
            "Relays the autoscaler is draining for a scale-down",
            registry=registry,
        )
        self.leader = Gauge(
            "plaza_control_autoscaler_leader",
            "1 while this process holds the autoscaler Lease",
            registry=registry,
        )
        self.errors = Counter(
            "plaza_control_autoscaler_errors",
            "Reconciler passes that failed (Kubernetes or Redis unreachable, a 409 "
            "on a stale read); the next pass tries again",
            registry=registry,
        )
        self.scale_writes = Counter(
            "plaza_control_autoscaler_scale_writes",
            "Replica counts written to the StatefulSet's scale, by direction",
            ["direction"],
            registry=registry,
        )
        for direction in ("up", "down"):
            self.scale_writes.labels(direction)
