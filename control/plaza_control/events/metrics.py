"""Prometheus series of the event consumers, on the app's registry.

Every series carries the consumer group (``control``: MongoDB records; ``seats``:
seat confirmation and release in Redis), so the two groups' lag and pending
counts sit side by side."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class _Labelled:
    """A labelled counter family with the group label already filled in."""

    def __init__(self, family: Counter, group: str) -> None:
        self._family = family
        self._group = group

    def labels(self, *values: str) -> Counter:
        return self._family.labels(self._group, *values)


class GroupMetrics:
    """The series of one consumer group: what ``EventConsumer`` updates."""

    def __init__(self, families: EventMetrics, group: str) -> None:
        self.group = group
        self.consumed = _Labelled(families.consumed, group)
        self.stale = _Labelled(families.stale, group)
        self.errors = _Labelled(families.errors, group)
        self.claimed: Counter = families.claimed.labels(group)
        self.dead_letters: Counter = families.dead_letters.labels(group)
        self.lag: Gauge = families.lag.labels(group)
        self.pending: Gauge = families.pending.labels(group)
        self.ack_latency: Histogram = families.ack_latency.labels(group)


class EventMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumed = Counter(
            "plaza_control_events_consumed",
            "Relay events applied and acknowledged, by consumer group and kind",
            ["group", "kind"],
            registry=registry,
        )
        self.claimed = Counter(
            "plaza_control_events_claimed",
            "Stream entries taken over from an idle consumer (XAUTOCLAIM)",
            ["group"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "plaza_control_events_dead_letters",
            "Undecodable stream entries acknowledged (the control group stores them "
            "in MongoDB dead_letters first)",
            ["group"],
            registry=registry,
        )
        self.stale = Counter(
            "plaza_control_events_stale",
            "Events that changed nothing because they were late: room now elsewhere, "
            "session already ended, command unknown",
            ["group", "kind"],
            registry=registry,
        )
        self.errors = Counter(
            "plaza_control_events_errors",
            "Consumer failures that stopped acknowledging and backed off, by dependency",
            ["group", "dependency"],
            registry=registry,
        )
        self.lag = Gauge(
            "plaza_control_events_lag",
            "Entries of the stream not yet delivered to the group (XINFO GROUPS lag)",
            ["group"],
            registry=registry,
        )
        self.pending = Gauge(
            "plaza_control_events_pending",
            "Entries delivered to the group but not acknowledged",
            ["group"],
            registry=registry,
        )
        self.ack_latency = Histogram(
            "plaza_control_events_ack_latency_seconds",
            "From XADD (the entry id's time) to XACK",
            ["group"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0),
            registry=registry,
        )
        self._groups: dict[str, GroupMetrics] = {}

    def group(self, name: str) -> GroupMetrics:
        if name not in self._groups:
            self._groups[name] = GroupMetrics(self, name)
        return self._groups[name]
