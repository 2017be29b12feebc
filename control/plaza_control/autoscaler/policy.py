"""The autoscaler's rules as pure functions: no I/O, no clock (times are passed in).

Agones ``fleetautoscalers`` style. One pass of the reconciler reads the state,
calls ``wanted_relays`` (how many relays the load needs), ``stabilized`` (a
scale-down only after the window), then ``plan`` (what to do about the
StatefulSet's replicas and which relays to drain or undrain), and acts on the
``Plan``. Every function is total: bad input (capacity 0, no heartbeat) has an
answer, never an exception.

A StatefulSet always removes its highest ordinals, so the relays to remove are
the highest ordinals above the new count (decisions/011). ``plan`` never
lowers the replica count below a relay that holds a player.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import msgspec

from plaza_control.placement import used_connections

#: What one pass decided; the label of ``plaza_control_autoscaler_decisions_total``.
Outcome = Literal[
    "steady",
    "scale-up",
    "scale-down-start",
    "waiting-for-drain",
    "scale-down",
    "cancel",
    "drain-timeout",
]
OUTCOMES: tuple[Outcome, ...] = (
    "steady",
    "scale-up",
    "scale-down-start",
    "waiting-for-drain",
    "scale-down",
    "cancel",
    "drain-timeout",
)


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """The knobs (``PLAZA_AUTOSCALER_*``, docs/autoscaler.md)."""

    min_relays: int = 1
    max_relays: int = 8
    #: Free connection capacity to keep, percent of the total (0..90).
    headroom_percent: int = 25
    #: Rooms one relay is meant to hold; 0 = rooms do not count.
    rooms_per_relay: int = 0
    stabilization_ms: int = 300_000
    max_concurrent_drains: int = 1
    drain_timeout_ms: int = 600_000

    def __post_init__(self) -> None:
        if self.min_relays < 1 or self.max_relays < self.min_relays:
            raise ValueError("need 1 <= min_relays <= max_relays")
        if not 0 <= self.headroom_percent <= 90:
            raise ValueError("headroom_percent must be within 0..90")
        if self.max_concurrent_drains < 1:
            raise ValueError("max_concurrent_drains must be at least 1")


class Load(msgspec.Struct, frozen=True, kw_only=True):
    """What the relays of the StatefulSet hold, from their heartbeats and seats."""

    #: Sum of ``used_connections`` (max of reported connections and seats).
    connections: int
    rooms: int
    #: Connections one relay takes (the largest reported); 0 = no heartbeat.
    capacity: int


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    replicas: int
    #: Why: ``connections``, ``rooms``, ``no-heartbeat`` (load unknown: keep the
    #: current count), then ``min``/``max`` when a bound changed the answer.
    reason: str
    #: True when ``min_relays``/``max_relays`` changed the answer.
    limited: bool


class Relay(msgspec.Struct, frozen=True, kw_only=True):
    """One relay of the StatefulSet as a pass sees it."""

    relay_id: str
    ordinal: int
    #: A heartbeat is present (the process runs).
    live: bool
    connections: int = 0
    seats: int = 0
    rooms: int = 0
    boot_id: str = ""
    #: ``A draining`` holds it, for ``drain_boot_id``.
    drain_marked: bool = False
    drain_boot_id: str = ""

    def holds_players(self) -> bool:
        """A live relay with a connection, a seat (reserved or confirmed) or a
        room. A relay with no heartbeat holds nobody: its players were told to
        move or lost their socket, and their rooms move at their next join."""
        return self.live and (self.connections > 0 or self.seats > 0 or self.rooms > 0)

    def marked_for_this_process(self) -> bool:
        """The drain mark covers the running incarnation (decisions/009)."""
        return self.drain_marked and self.drain_boot_id == self.boot_id


class ScaleDown(msgspec.Struct, frozen=True, kw_only=True):
    """A scale-down in progress, kept in the StatefulSet's annotations."""

    #: The replica count this step goes to.
    target: int
    #: The relays drained for it (ordinals ``target`` .. old count - 1).
    relays: tuple[str, ...]
    started_ms: int


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
    reason: str
    #: The replica count to write; ``None`` = leave it.
    replicas: int | None = None
    #: Drain through the ops path (mark + drain command).
    drain: tuple[str, ...] = ()
    #: Mark draining only, ``(relay_id, boot_id)``: a new, empty incarnation of a
    #: relay being removed (a container restart) or a lost mark.
    remark: tuple[tuple[str, str], ...] = ()
    undrain: tuple[str, ...] = ()
    #: The annotations' state after this pass; ``None`` = no scale-down.
    state: ScaleDown | None = None


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def clamp(n: int, policy: Policy) -> int:
    return max(policy.min_relays, min(policy.max_relays, n))


def load_of(relays: Iterable[Relay], capacities: Iterable[int]) -> Load:
    """The load of the live relays (draining ones included: their players need
    room on the others) and the per-relay capacity (the largest reported)."""
    live = [r for r in relays if r.live]
    return Load(
        connections=sum(used_connections(r.connections, r.seats) for r in live),
        rooms=sum(r.rooms for r in live),
        capacity=max([c for c in capacities if c > 0], default=0),
    )


def wanted_relays(load: Load, current: int, policy: Policy) -> Decision:
    """Relays needed so that ``headroom_percent`` of the connection capacity stays
    free: ``ceil(connections * 100 / (capacity * (100 - headroom)))``, and at
    least ``ceil(rooms / rooms_per_relay)`` when that is set; within min/max.
    With no capacity known (no heartbeat) the current count stands."""
    if load.capacity <= 0:
        raw, reason = current, "no-heartbeat"
    else:
        by_conn = _ceil_div(load.connections * 100, load.capacity * (100 - policy.headroom_percent))
        by_rooms = _ceil_div(load.rooms, policy.rooms_per_relay) if policy.rooms_per_relay else 0
        raw, reason = (by_rooms, "rooms") if by_rooms > by_conn else (by_conn, "connections")
    n = clamp(raw, policy)
    if n != raw:
        reason += "; min" if n > raw else "; max"
    return Decision(replicas=n, reason=reason, limited=n != raw)


class Recommendation(msgspec.Struct, frozen=True):
    at_ms: int
    replicas: int


def stabilized(
    history: Sequence[Recommendation],
    *,
    now_ms: int,
    since_ms: int,
    window_ms: int,
    current: int,
    wanted: int,
) -> int:
    """Scale up at once; scale down to the highest recommendation of the last
    ``window_ms`` (``history`` plus ``wanted``), and only once this process has
    watched a whole window (``since_ms``: its first recommendation), so a
    restart never scales down on one sample."""
    if wanted >= current:
        return wanted
    if now_ms - since_ms < window_ms:
        return current
    recent = [r.replicas for r in history if r.at_ms > now_ms - window_ms]
    return min(current, max([wanted, *recent]))


def prune(history: Sequence[Recommendation], now_ms: int, window_ms: int) -> list[Recommendation]:
    """The recommendations that still count."""
    return [r for r in history if r.at_ms > now_ms - window_ms]


def pod_name(statefulset: str, ordinal: int) -> str:
    return f"{statefulset}-{ordinal}"


def ordinal_of(relay_id: str, statefulset: str) -> int | None:
    """The ordinal of a Pod name ``<statefulset>-<n>``; ``None`` for another name."""
    m = re.fullmatch(re.escape(statefulset) + r"-(0|[1-9][0-9]*)", relay_id)
    return int(m.group(1)) if m else None


def to_remove(current: int, target: int, max_concurrent: int) -> tuple[int, list[int]]:
    """One scale-down step: the count it goes to (at most ``max_concurrent`` below
    ``current``, never below ``target``) and the ordinals that go, highest first."""
    step = max(target, current - max_concurrent, 0)
    return step, list(range(current - 1, step - 1, -1))


def _undrain_below(state: ScaleDown, keep: int, statefulset: str) -> tuple[str, ...]:
    return tuple(
        r for r in state.relays if (o := ordinal_of(r, statefulset)) is not None and o < keep
    )


def plan(
    *,
    statefulset: str,
    current: int,
    wanted: int,
    stable: int,
    relays: Mapping[int, Relay],
    state: ScaleDown | None,
    now_ms: int,
    policy: Policy,
) -> Plan:
    """What one pass does. ``wanted`` is this pass's recommendation (scale-up
    and cancels follow it at once), ``stable`` the stabilised one (a new
    scale-down follows it); ``relays`` by ordinal (missing = no heartbeat);
    ``state`` the scale-down in the annotations.

    Invariant: ``replicas`` is lower than ``current`` only if every relay of an
    ordinal in ``[replicas, current)`` holds no player and, when live, is marked
    draining for its running incarnation."""

    def relay(o: int) -> Relay:
        return relays.get(o) or Relay(relay_id=pod_name(statefulset, o), ordinal=o, live=False)

    if state is None:
        if stable > current:
            return Plan(outcome="scale-up", reason=f"wanted {stable} > {current}", replicas=stable)
        if stable == current:
            return Plan(outcome="steady", reason=f"wanted {stable} = {current}")
        target, removing = to_remove(current, stable, policy.max_concurrent_drains)
        chosen = [relay(o) for o in removing]
        return Plan(
            outcome="scale-down-start",
            reason=f"wanted {stable} < {current}: draining ordinals {removing}",
            drain=tuple(r.relay_id for r in chosen if r.live and not r.marked_for_this_process()),
            state=ScaleDown(
                target=target, relays=tuple(r.relay_id for r in chosen), started_ms=now_ms
            ),
        )

    # A scale-down is in progress.
    if wanted > state.target:
        keep = min(wanted, current)
        undrain = _undrain_below(state, keep, statefulset)
        left = tuple(r for r in state.relays if r not in undrain)
        scale_to = wanted if wanted > current else None
        new_state = (
            None
            if keep >= current
            else ScaleDown(target=keep, relays=left, started_ms=state.started_ms)
        )
        return Plan(
            outcome="scale-up" if scale_to else "cancel",
            reason=f"load rose: wanted {wanted} > target {state.target}",
            replicas=scale_to,
            undrain=undrain,
            state=new_state,
        )
    if state.target >= current:
        # The last step landed (or someone scaled by hand): done.
        return Plan(outcome="steady", reason=f"scale-down to {state.target} done", state=None)

    going = list(range(current - 1, state.target - 1, -1))
    holding = [relay(o) for o in going if relay(o).holds_players()]
    if holding and now_ms - state.started_ms > policy.drain_timeout_ms:
        return Plan(
            outcome="drain-timeout",
            reason=f"{', '.join(r.relay_id for r in holding)} still hold players after "
            f"{policy.drain_timeout_ms // 1000}s: undrained, scale-down abandoned",
            undrain=state.relays,
            state=None,
        )
    drain: list[str] = []
    remark: list[tuple[str, str]] = []
    lowest = current
    blocked = False
    for o in going:
        r = relay(o)
        ready_to_go = not r.live or (r.marked_for_this_process() and not r.holds_players())
        if r.live and not r.marked_for_this_process():
            # A new incarnation (a container restart) or a lost mark: mark it again.
            if r.holds_players():
                drain.append(r.relay_id)
            else:
                remark.append((r.relay_id, r.boot_id))
        if ready_to_go and not blocked:
            lowest = o
        else:
            blocked = True
    if lowest < current:
        return Plan(
            outcome="scale-down",
            reason=f"ordinals {lowest}..{current - 1} empty: replicas {current} -> {lowest}",
            replicas=lowest,
            drain=tuple(drain),
            remark=tuple(remark),
            state=None if lowest <= state.target else state,
        )
    waiting = ", ".join(f"{r.relay_id} ({r.connections} conn, {r.seats} seats)" for r in holding)
    return Plan(
        outcome="waiting-for-drain",
        reason=f"waiting for {waiting or 'drain marks'}",
        drain=tuple(drain),
        remark=tuple(remark),
        state=state,
    )
