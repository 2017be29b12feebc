"""Relay choice: the one rule, as pure functions (no I/O, no clock).

Two steps place a room on a relay:

1. ``candidates`` (Python, before the atomic step): from the relays' cached
   heartbeats, those that may take a new room at all.
2. ``pick_relay`` (inside the atomic step): the least-loaded candidate that is
   still live, not marked draining and has a free connection, judged on the
   seat counts of that moment.

``pick_relay`` is the specification of ``pick_relay`` in
``redis_scripts/join.lua``, which must make the same choice from the same
state; ``control/tests/test_placement.py`` runs one table of cases against both
(and the in-memory allocator of the tests uses this function), so the two
cannot drift. Change the rule here, in join.lua and in that table together.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from plaza_control.models import RelayInfo


def used_connections(connections: int, seats: int) -> int:
    """What a relay is taken to hold: the larger of what it last reported and the
    seats reserved or confirmed on it since (a report lags the joins)."""
    return max(connections, seats)


def has_free_connection(capacity: int, connections: int, seats: int) -> bool:
    """Room for one more connection; never true for a capacity of 0 or less."""
    return capacity > 0 and used_connections(connections, seats) + 1 <= capacity


def candidates(relays: Iterable[RelayInfo], region: str | None) -> list[RelayInfo]:
    """Relays that may take a new room, in the order given: ``ready``, not marked
    draining, with a free connection (by their heartbeat's ``seats``). With a
    ``region``, only that region's among them if it has any (region-aware, not
    region-locked)."""
    ready = [
        r
        for r in relays
        if r.state == "ready"
        and not r.drain_requested
        and has_free_connection(r.capacity_connections, r.connections, r.seats)
    ]
    if region:
        local = [r for r in ready if r.region == region]
        if local:
            return local
    return ready


def placeable(relays: Iterable[RelayInfo]) -> int:
    """How many relays could take a new room now (``candidates`` of any region):
    0 means every join that needs a new room answers 503 ``no-relay``."""
    return len(candidates(relays, None))


def pick_relay(
    offered: Iterable[RelayInfo],
    *,
    live: Container[str],
    draining: Container[str],
    seats: Mapping[str, int],
) -> str | None:
    """The id of the least-loaded relay among ``offered`` that is ``live``, not in
    ``draining`` and has a free connection; ``None`` when there is none.

    Only ``relay_id``, ``capacity_connections`` and ``connections`` of each offered
    relay are read; its seats come from ``seats`` (the allocator's counters at the
    moment of the choice, 0 when absent), not from the heartbeat. Load is
    ``used_connections / capacity``; on equal load the first offered wins.
    """
    best: str | None = None
    best_load = 0.0
    for r in offered:
        if r.relay_id not in live or r.relay_id in draining:
            continue
        held = seats.get(r.relay_id, 0)
        if not has_free_connection(r.capacity_connections, r.connections, held):
            continue
        load = used_connections(r.connections, held) / r.capacity_connections
        if best is None or load < best_load:
            best, best_load = r.relay_id, load
    return best
