"""Background loops of one process: seat sweeper (and the relay, room and seat
gauges), dependency pings (the up gauges), command expiry, cache repair, key
reload.

Each loop is idempotent (every process runs them; doing it twice is harmless) and
never dies on an error: it logs and tries again on its next tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from plaza_control import placement
from plaza_control.clock import system_clock_ms
from plaza_control.container import Services
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

    return [
        asyncio.create_task(_every(s.sweep_interval_seconds, "sweep", sweep)),
        asyncio.create_task(_every(s.sweep_interval_seconds, "ping", ping_dependencies)),
        asyncio.create_task(_every(s.sweep_interval_seconds, "commands", expire_commands)),
        asyncio.create_task(_every(s.cache_refresh_seconds, "cache", repair_cache)),
        asyncio.create_task(_every(float(s.key_reload_seconds), "keys", reload_keys)),
    ]
