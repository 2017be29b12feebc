"""Prometheus series of the event consumer, on the app's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class EventMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumed = Counter(
            "plaza_control_events_consumed",
            "Relay events applied and acknowledged, by kind",
            ["kind"],
            registry=registry,
        )
        self.claimed = Counter(
            "plaza_control_events_claimed",
            "Stream entries taken over from an idle consumer (XAUTOCLAIM)",
            registry=registry,
        )
        self.dead_letters = Counter(
            "plaza_control_events_dead_letters",
            "Undecodable stream entries moved to MongoDB dead_letters and acknowledged",
            registry=registry,
        )
        self.stale = Counter(
            "plaza_control_events_stale",
            "Seat/room events ignored because the room is now elsewhere or the session ended",
            ["kind"],
            registry=registry,
        )
        self.errors = Counter(
            "plaza_control_events_errors",
            "Consumer failures that stopped acknowledging and backed off, by dependency",
            ["dependency"],
            registry=registry,
        )
        self.lag = Gauge(
            "plaza_control_events_lag",
            "Entries of the stream not yet delivered to the group (XINFO GROUPS lag)",
            registry=registry,
        )
        self.pending = Gauge(
            "plaza_control_events_pending",
            "Entries delivered to the group but not acknowledged",
            registry=registry,
        )
        self.ack_latency = Histogram(
            "plaza_control_events_ack_latency_seconds",
            "From XADD (the entry id's time) to XACK",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0),
            registry=registry,
        )
