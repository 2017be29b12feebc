"""World templates: read for viewers, change for admins."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from plaza_control import validation as v
from plaza_control.api import WorldCreate, WorldUpdate
from plaza_control.models import Role, World
from plaza_control.routes.deps import Key, Svc, operator, operator_guard, services

WorldIdP = Annotated[str, Parameter(pattern=v.WORLD_ID)]


class WorldsController(Controller):
    path = "/v1/ops/worlds"
    tags = ["worlds"]
    guards = [operator_guard]
    security = [{"apiKey": []}]
    dependencies = {
        "svc": Provide(services, sync_to_thread=False),
        "key": Provide(operator),
    }

    @get("/", opt={"role": Role.VIEWER}, summary="All worlds")
    async def list_worlds(self, svc: Svc) -> list[World]:
        return await svc.worlds.all()

    @get("/{world_id:str}", opt={"role": Role.VIEWER}, summary="One world")
    async def get_world(self, svc: Svc, world_id: WorldIdP) -> World:
        return await svc.worlds.get(world_id)

    @post("/", opt={"role": Role.ADMIN, "action": "world.create"}, status_code=HTTP_201_CREATED)
    async def create_world(self, svc: Svc, key: Key, data: JSONBody[WorldCreate]) -> World:
        """Creates version 1, caches it in Redis and pushes it to relays."""
        return await svc.worlds.create(key, data.id, data.name, data.settings)

    @put("/{world_id:str}", opt={"role": Role.ADMIN, "action": "world.update"})
    async def update_world(
        self, svc: Svc, key: Key, world_id: WorldIdP, data: JSONBody[WorldUpdate]
    ) -> World:
        """Every change adds one to the version and is pushed to relays."""
        return await svc.worlds.update(
            key, world_id, data.name, data.settings, data.expected_version
        )

    @delete(
        "/{world_id:str}",
        opt={"role": Role.ADMIN, "action": "world.delete"},
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_world(self, svc: Svc, key: Key, world_id: WorldIdP) -> None:
        await svc.worlds.delete(key, world_id)
