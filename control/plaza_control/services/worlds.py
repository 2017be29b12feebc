"""World templates: CRUD, versioning, the Redis cache and live pushes to relays."""

from __future__ import annotations

from plaza_control.clock import Clock
from plaza_control.errors import NotFound
from plaza_control.models import ApiKey, ReloadConfigBody, World, WorldSettings
from plaza_control.repositories.base import ConfigCache, WorldRepository
from plaza_control.services.commands import CommandService
from plaza_control.services.operators import Auditor


class WorldService:
    """MongoDB holds worlds; every change rewrites the Redis cache (what the join
    path and relays read) and broadcasts a ReloadConfig command."""

    def __init__(
        self,
        worlds: WorldRepository,
        cache: ConfigCache,
        commands: CommandService,
        auditor: Auditor,
        clock: Clock,
    ) -> None:
        self._worlds = worlds
        self._cache = cache
        self._commands = commands
        self._audit = auditor
        self._clock = clock

    async def _publish(self, world: World, actor: str) -> None:
        await self._cache.put_world(world.id, world.version, world.settings)
        await self._commands.send(
            actor,
            "",
            ReloadConfigBody(world_id=world.id, version=world.version, settings=world.settings),
        )

    async def create(self, key: ApiKey, world_id: str, name: str, settings: WorldSettings) -> World:
        async with self._audit.action(key, "world.create", world_id, ok_status=201):
            now = self._clock()
            world = await self._worlds.create(
                World(
                    id=world_id,
                    name=name,
                    version=1,
                    settings=settings,
                    created_at_ms=now,
                    updated_at_ms=now,
                )
            )
            await self._publish(world, key.id)
            return world

    async def update(
        self,
        key: ApiKey,
        world_id: str,
        name: str | None,
        settings: WorldSettings | None,
        expected_version: int | None,
    ) -> World:
        async with self._audit.action(key, "world.update", world_id) as detail:
            world = await self._worlds.update(
                world_id, name, settings, expected_version, self._clock()
            )
            await self._publish(world, key.id)
            detail.append(f"version {world.version}")
            return world

    async def delete(self, key: ApiKey, world_id: str) -> None:
        async with self._audit.action(key, "world.delete", world_id, ok_status=204):
            if not await self._worlds.delete(world_id):
                raise NotFound(f"world {world_id} not found")
            await self._cache.drop_world(world_id)

    async def get(self, world_id: str) -> World:
        world = await self._worlds.get(world_id)
        if world is None:
            raise NotFound(f"world {world_id} not found")
        return world

    async def all(self) -> list[World]:
        return await self._worlds.all()

    async def warm_cache(self) -> int:
        """Rewrite every world's cache entry (startup and periodic repair)."""
        worlds = await self._worlds.all()
        for w in worlds:
            await self._cache.put_world(w.id, w.version, w.settings)
        return len(worlds)
