"""Background loops of one process: seat sweeper (and the placeable-relays
gauge), command expiry, cache repair, key reload.

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


def start_loops(svc: Services) -> list[asyncio.Task[None]]:
    s = svc.settings

    async def sweep() -> None:
        released = await svc.allocator.sweep(system_clock_ms())
        if released:
            svc.metrics.swept_rooms.inc(released)
        svc.metrics.placeable_relays.set(placement.placeable(await svc.allocator.relays()))

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
        asyncio.create_task(_every(s.sweep_interval_seconds, "commands", expire_commands)),
        asyncio.create_task(_every(s.cache_refresh_seconds, "cache", repair_cache)),
        asyncio.create_task(_every(float(s.key_reload_seconds), "keys", reload_keys)),
    ]
