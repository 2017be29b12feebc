"""Background loops of one process: seat sweeper (and the relay, room and seat
gauges), dependency pings (the up gauges), command expiry, cache repair, key
reload, the events stream trim and the forgetting of ended rooms' lifetime
fields (docs/decisions/016).

Each loop is idempotent (every process runs them; doing it twice is harmless) and
never dies on an error: it logs and tries again on its next tick.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import Counter, Gauge

from plaza_control import placement
from plaza_control.clock import system_clock_ms
from plaza_control.container import Services
from plaza_control.events.lifetimes import LifetimeForgetter
from plaza_control.events.stream_trim import point_age_ms, trim_acknowledged
from plaza_control.models import RelayInfo
from plaza_control.observability import Metrics
from plaza_control.repositories import mongo

_log = structlog.get_logger("plaza.maintenance")


async def _every(seconds: float, name: str, step: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.warning("maintenance step failed", loop=name, error=repr(exc))


#: A health ping slower than this counts as down.
PING_TIMEOUT_SECONDS = 2.0


def set_relay_gauges(m: Metrics, relays: list[RelayInfo]) -> None:
    """The placement view of the live relays (heartbeats plus seats)."""
    live = [r for r in relays if r.state == "ready" and not r.drain_requested]
    draining = [r for r in relays if r.state in ("draining", "stopping") or r.drain_requested]
    full = [
        r
        for r in live
        if not placement.has_free_connection(r.capacity_connections, r.connections, r.seats)
    ]
    m.placeable_relays.set(placement.placeable(relays))
    m.relays.labels("live").set(len(live))
    m.relays.labels("draining").set(len(draining))
    m.relays.labels("full").set(len(full))
    m.rooms.set(sum(r.rooms for r in relays))
    m.seats.set(sum(r.seats for r in relays))
    m.capacity.set(sum(r.capacity_connections for r in live))


class HistoryMetrics:
    """Gauges of the two histories maintenance bounds (docs/control.md)."""

    def __init__(self, m: Metrics) -> None:
        reg = m.registry
        self.stream_length = Gauge(
            "plaza_control_events_stream_length",
            "Entries in P events after the last trim (the relay caps it at ~1,000,000)",
            registry=reg,
        )
        self.trim_point_age = Gauge(
            "plaza_control_events_trim_point_age_seconds",
            "Age of the oldest entry some consumer group still needs (0: nothing to trim)",
            registry=reg,
        )
        self.trimmed = Counter(
            "plaza_control_events_trimmed_entries",
            "Entries of P events trimmed behind every consumer group",
            registry=reg,
        )
        self.lifetime_fields = Gauge(
            "plaza_control_room_lifetimes_fields",
            "Room id fields of A room_lifetimes at the last pass",
            registry=reg,
        )
        self.lifetimes_forgotten = Counter(
            "plaza_control_room_lifetimes_forgotten",
            "Fields of ended rooms forgotten from A room_lifetimes",
            registry=reg,
        )


_history_metrics: weakref.WeakKeyDictionary[Metrics, HistoryMetrics] = weakref.WeakKeyDictionary()


def history_metrics(m: Metrics) -> HistoryMetrics:
    """One set per app registry, also when the lifespan starts again."""
    if m not in _history_metrics:
        _history_metrics[m] = HistoryMetrics(m)
    return _history_metrics[m]


async def _up(ping: Awaitable[object]) -> int:
    try:
        await asyncio.wait_for(ping, PING_TIMEOUT_SECONDS)
    except asyncio.CancelledError:
        raise
    except Exception:
        return 0
    return 1


def start_loops(svc: Services) -> list[asyncio.Task[None]]:
    s = svc.settings

    async def sweep() -> None:
        released = await svc.allocator.sweep(system_clock_ms())
        if released:
            svc.metrics.swept_rooms.inc(released)
        set_relay_gauges(svc.metrics, await svc.allocator.relays())

    async def ping_dependencies() -> None:
        redis_up, mongodb_up = await asyncio.gather(
            _up(svc.redis.ping()), _up(svc.mongo.admin.command("ping"))
        )
        svc.metrics.redis_up.set(redis_up)
        svc.metrics.mongodb_up.set(mongodb_up)

    async def expire_commands() -> None:
        expired = await svc.commands.expire_overdue()
        if expired:
            _log.info("commands expired unacknowledged", count=expired)

    async def repair_cache() -> None:
        await mongo.ensure_indexes(svc.db)
        await svc.worlds.warm_cache()
        await svc.ops.warm_bans()

    async def reload_keys() -> None:
        svc.key_ring.reload()

    hm = history_metrics(svc.metrics)
    groups = (s.events_group, s.events_seats_group)

    async def trim_events() -> None:
        res = await trim_acknowledged(svc.redis, svc.keyspace.events, groups)
        hm.stream_length.set(res.length)
        hm.trim_point_age.set(point_age_ms(res.point, system_clock_ms()) / 1000)
        if res.trimmed:
            hm.trimmed.inc(res.trimmed)

    forgetter = LifetimeForgetter(svc.redis, svc.keyspace)

    async def forget_lifetimes() -> None:
        res = await forgetter.run_once()
        hm.lifetime_fields.set(res.fields - res.forgotten)
        if res.forgotten:
            hm.lifetimes_forgotten.inc(res.forgotten)

    return [
        asyncio.create_task(_every(s.sweep_interval_seconds, "sweep", sweep)),
        asyncio.create_task(_every(s.sweep_interval_seconds, "ping", ping_dependencies)),
        asyncio.create_task(_every(s.sweep_interval_seconds, "commands", expire_commands)),
        asyncio.create_task(_every(s.cache_refresh_seconds, "cache", repair_cache)),
        asyncio.create_task(_every(float(s.key_reload_seconds), "keys", reload_keys)),
        asyncio.create_task(_every(s.events_trim_interval_seconds, "events-trim", trim_events)),
        asyncio.create_task(
            _every(s.lifetimes_forget_interval_seconds, "lifetimes", forget_lifetimes)
        ),
    ]
