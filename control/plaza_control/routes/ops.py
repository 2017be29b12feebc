"""The operator API, all of ``/v1/ops``: relays, rooms, users, moderation,
drain, audit, commands with their acks, sessions, and world templates. Every
handler needs an API key whose role covers the handler's ``opt["role"]``."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from litestar.params import JSONBody, Parameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
)

from plaza_control import paging
from plaza_control import validation as v
from plaza_control.events.models import CommandStatus
from plaza_control.events.reads import MAX_PAGE, CommandPage, MemberPage, SessionPage
from plaza_control.models import (
    AuditFilter,
    CommandAck,
    CommandRecord,
    Role,
    RoomStateSnapshot,
    World,
)
from plaza_control.routes.bodies import (
    API_KEY_ID,
    AnnounceIn,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyPage,
    AuditPage,
    BanIn,
    BanPage,
    CloseRoomIn,
    CommandOut,
    DrainIn,
    KickIn,
    MuteIn,
    RelayPage,
    RoomPage,
    UndrainIn,
    UnmuteIn,
    UserDetail,
    UsersPage,
    WorldCreate,
    WorldPage,
    WorldUpdate,
    api_key_out,
    user_out,
)
from plaza_control.routes.deps import Key, Svc, operator, operator_guard, services
from plaza_control.services.ops import Undrained

UserIdP = Annotated[str, Parameter(pattern=v.USER_ID)]
RoomIdP = Annotated[str, Parameter(pattern=v.ROOM_ID)]
RelayIdP = Annotated[str, Parameter(pattern=v.RELAY_ID)]
WorldIdP = Annotated[str, Parameter(pattern=v.WORLD_ID)]
Limit = Annotated[int, Parameter(ge=1, le=500)]
#: Pages of what the event consumer wrote (MongoDB).
PageLimit = Annotated[int, Parameter(ge=1, le=MAX_PAGE)]
#: Unix ms times accepted in queries (far past any real one, inside int64).
MAX_MS = 2**53 - 1
#: A page's ``next``, passed back unchanged.
Cursor = Annotated[
    str | None, Parameter(pattern=paging.CURSOR_PATTERN, description="a page's `next`")
]
VIEWER = {"role": Role.VIEWER}


def _mod(action: str) -> dict[str, object]:
    return {"role": Role.MODERATOR, "action": action}


def _world_key(w: World) -> str:
    return w.id


def command_out(c: CommandRecord) -> CommandOut:
    return CommandOut(
        command_id=c.id,
        kind=c.kind,
        target_relay_id=c.target_relay_id,
        ack=c.ack,
        receivers=c.receivers,
    )


class OpsController(Controller):
    path = "/v1/ops"
    tags = ["ops"]
    guards = [operator_guard]
    security = [{"apiKey": []}]
    dependencies = {
        "svc": Provide(services, sync_to_thread=False),
        "key": Provide(operator),
    }

    @get("/relays", opt=VIEWER, summary="Live relays with load and state")
    async def relays(self, svc: Svc, limit: Limit = 100, cursor: Cursor = None) -> RelayPage:
        return RelayPage(*await svc.ops.relays(limit, cursor))

    @get("/rooms", opt=VIEWER, summary="Open rooms with relay and member count")
    async def rooms(
        self,
        svc: Svc,
        world: Annotated[str | None, Parameter(pattern=v.WORLD_ID)] = None,
        relay: Annotated[str | None, Parameter(pattern=v.RELAY_ID)] = None,
        min_members: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
        max_members: Annotated[int | None, Parameter(ge=0, le=1_000_000)] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> RoomPage:
        """Rooms by id; members are seats (reserved and confirmed)."""
        page = await svc.ops.rooms(
            limit,
            cursor,
            world_id=world,
            relay_id=relay,
            min_members=min_members,
            max_members=max_members,
        )
        return RoomPage(*page)

    @get("/rooms/{room_id:str}/members", opt=VIEWER, summary="Members of an open room")
    async def members(
        self, svc: Svc, room_id: RoomIdP, limit: PageLimit = 100, cursor: Cursor = None
    ) -> MemberPage:
        """Seats from Redis (by user id) with the session the relay confirmed each
        with and its join time (session records, written by the ``control``
        event group: empty until it has)."""
        return await svc.event_records.members(room_id, limit, cursor)

    @get("/rooms/{room_id:str}/state", opt=VIEWER, summary="A room's saved state keys")
    async def room_state(self, svc: Svc, room_id: RoomIdP) -> RoomStateSnapshot:
        """The relay's last snapshot (``P room:{<id>}:snapshot``): keys, versions,
        value sizes, the room sequence and the lifetime it belongs to."""
        return await svc.ops.room_state(room_id)

    @get("/users", opt=VIEWER, summary="Users by id; search by name, device or identity")
    async def users(
        self,
        svc: Svc,
        name: Annotated[
            str | None, Parameter(min_length=1, max_length=64, description="display name prefix")
        ] = None,
        device: Annotated[
            str | None, Parameter(pattern=v.DEVICE_ID, description="a guest's device id")
        ] = None,
        identity: Annotated[
            str | None,
            Parameter(min_length=3, max_length=600, description="external issuer|subject"),
        ] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> UsersPage:
        items, nxt = await svc.ops.users(
            limit, cursor, name_prefix=name, device_id=device, identity=identity
        )
        return UsersPage([user_out(u) for u in items], nxt)

    @get("/bans", opt=VIEWER, summary="Bans in force, by user id")
    async def bans(
        self,
        svc: Svc,
        ended: Annotated[bool, Parameter(description="include bans that ended")] = False,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> BanPage:
        return BanPage(*await svc.ops.bans(limit, cursor, ended))

    @get("/users/{user_id:str}", opt=VIEWER, summary="One user, with ban and current room")
    async def user(self, svc: Svc, user_id: UserIdP) -> UserDetail:
        user, ban, room = await svc.ops.user(user_id)
        return UserDetail(user=user_out(user), ban=ban, room_id=room)

    @post(
        "/users/{user_id:str}/ban",
        opt=_mod("user.ban"),
        status_code=HTTP_200_OK,
        summary="Ban a user",
    )
    async def ban(
        self, svc: Svc, key: Key, user_id: UserIdP, data: JSONBody[BanIn]
    ) -> CommandOut | None:
        """Bans take effect at the next sign-in and join at once; a user in a room is
        kicked (the kick command is returned)."""
        cmd = await svc.ops.ban(key, user_id, data.reason, data.duration_seconds)
        return None if cmd is None else command_out(cmd)

    @delete(
        "/users/{user_id:str}/ban",
        opt=_mod("user.unban"),
        status_code=HTTP_204_NO_CONTENT,
        summary="Unban",
    )
    async def unban(self, svc: Svc, key: Key, user_id: UserIdP) -> None:
        await svc.ops.unban(key, user_id)

    @post(
        "/users/{user_id:str}/mute",
        opt=_mod("user.mute"),
        status_code=HTTP_202_ACCEPTED,
        summary="Mute",
    )
    async def mute(
        self, svc: Svc, key: Key, user_id: UserIdP, data: JSONBody[MuteIn]
    ) -> CommandOut:
        cmd = await svc.ops.mute(
            key, user_id, data.room_id or "", data.duration_seconds, data.reason
        )
        return command_out(cmd)

    @post(
        "/users/{user_id:str}/unmute",
        opt=_mod("user.unmute"),
        status_code=HTTP_202_ACCEPTED,
        summary="Unmute",
    )
    async def unmute(
        self, svc: Svc, key: Key, user_id: UserIdP, data: JSONBody[UnmuteIn]
    ) -> CommandOut:
        return command_out(await svc.ops.unmute(key, user_id, data.room_id or ""))

    @post(
        "/rooms/{room_id:str}/kick",
        opt=_mod("room.kick"),
        status_code=HTTP_202_ACCEPTED,
        summary="Kick",
    )
    async def kick(
        self, svc: Svc, key: Key, room_id: RoomIdP, data: JSONBody[KickIn]
    ) -> CommandOut:
        return command_out(await svc.ops.kick(key, room_id, data.user_id, data.reason))

    @post(
        "/rooms/{room_id:str}/close",
        opt=_mod("room.close"),
        status_code=HTTP_202_ACCEPTED,
        summary="Close",
    )
    async def close_room(
        self, svc: Svc, key: Key, room_id: RoomIdP, data: JSONBody[CloseRoomIn]
    ) -> CommandOut:
        return command_out(await svc.ops.close_room(key, room_id, data.reason))

    @post("/announce", opt=_mod("announce"), status_code=HTTP_202_ACCEPTED, summary="Announce")
    async def announce(self, svc: Svc, key: Key, data: JSONBody[AnnounceIn]) -> CommandOut:
        cmd = await svc.ops.announce(
            key, data.scope, data.room_id or "", data.world_id or "", data.text
        )
        return command_out(cmd)

    @post(
        "/relays/{relay_id:str}/drain",
        opt={"role": Role.ADMIN, "action": "relay.drain"},
        status_code=HTTP_202_ACCEPTED,
        summary="Drain a relay",
    )
    async def drain(
        self, svc: Svc, key: Key, relay_id: RelayIdP, data: JSONBody[DrainIn]
    ) -> CommandOut:
        return command_out(await svc.ops.drain(key, relay_id, data.deadline_seconds, data.reason))

    @post(
        "/relays/{relay_id:str}/undrain",
        opt={"role": Role.ADMIN, "action": "relay.undrain"},
        status_code=HTTP_200_OK,
        summary="Undrain a relay: rooms may be placed there again",
    )
    async def undrain(
        self, svc: Svc, key: Key, relay_id: RelayIdP, data: JSONBody[UndrainIn]
    ) -> Undrained:
        """Removes the control plane's drain mark (also of a relay not live now). A
        relay process that already began draining still exits; drains apply to
        one incarnation, so its next one takes rooms anyway."""
        return await svc.ops.undrain(key, relay_id, data.reason)

    @get("/audit", opt={"role": Role.ADMIN}, summary="Audit log, newest first")
    async def audit(
        self,
        svc: Svc,
        actor: Annotated[
            str | None, Parameter(min_length=1, max_length=64, description="key id or name")
        ] = None,
        action: Annotated[
            str | None, Parameter(pattern=r"^[a-z.]{1,32}$", description="e.g. user.ban")
        ] = None,
        target: Annotated[
            str | None, Parameter(min_length=1, max_length=200, description="target prefix")
        ] = None,
        since: Annotated[
            int | None, Parameter(ge=0, le=MAX_MS, description="ms, inclusive")
        ] = None,
        until: Annotated[
            int | None, Parameter(ge=0, le=MAX_MS, description="ms, exclusive")
        ] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> AuditPage:
        """Every mutating call (also refused ones): key id and name, the HTTP
        status answered, reason and duration where the action takes them, the
        request id."""
        where = AuditFilter(
            actor=actor, action=action, target=target, since_ms=since, until_ms=until
        )
        items = await svc.auditor.page(limit + 1, paging.decode_str(cursor), where)
        page = items[:limit]
        return AuditPage(page, paging.encode(page[-1].id) if len(items) > limit else None)

    @get("/commands", opt=VIEWER, summary="Commands, newest first, with their acks")
    async def commands(
        self,
        svc: Svc,
        ack: Annotated[
            CommandAck | None,
            Parameter(description="only this status"),
        ] = None,
        limit: PageLimit = 100,
        cursor: Cursor = None,
    ) -> CommandPage:
        return await svc.event_records.commands(limit, cursor, ack)

    @get(
        "/commands/{command_id:str}",
        opt=VIEWER,
        summary="A command, its ack status, time and every relay's answer",
    )
    async def command(
        self, svc: Svc, command_id: Annotated[str, Parameter(pattern=v.COMMAND_ID)]
    ) -> CommandStatus:
        return await svc.event_records.command(command_id)

    @get("/users/{user_id:str}/sessions", opt=VIEWER, summary="A user's sessions, newest first")
    async def sessions(
        self,
        svc: Svc,
        user_id: UserIdP,
        limit: PageLimit = 50,
        cursor: Cursor = None,
    ) -> SessionPage:
        return await svc.event_records.sessions(user_id, limit, cursor)


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
    async def list_worlds(self, svc: Svc, limit: Limit = 100, cursor: Cursor = None) -> WorldPage:
        return WorldPage(*paging.after_key(await svc.worlds.all(), _world_key, limit, cursor))

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


def _key_order(k: ApiKeyOut) -> str:
    """Oldest first (ids break ties)."""
    return f"{k.created_at_ms:015d}-{k.id}"


class ApiKeysController(Controller):
    """Operator API keys (admin). A revoked key is refused by every control-plane
    process from its next request on (keys are read per request, not cached)."""

    path = "/v1/ops/keys"
    tags = ["keys"]
    guards = [operator_guard]
    security = [{"apiKey": []}]
    dependencies = {
        "svc": Provide(services, sync_to_thread=False),
        "key": Provide(operator),
    }

    @get("/", opt={"role": Role.ADMIN}, summary="API keys (never the keys themselves)")
    async def list_keys(self, svc: Svc, limit: Limit = 100, cursor: Cursor = None) -> ApiKeyPage:
        items = [api_key_out(k) for k in await svc.api_keys.all()]
        return ApiKeyPage(*paging.after_key(items, _key_order, limit, cursor))

    @post(
        "/",
        opt={"role": Role.ADMIN, "action": "key.create"},
        status_code=HTTP_201_CREATED,
        summary="Create an API key; the key is in this answer only",
    )
    async def create_key(self, svc: Svc, key: Key, data: JSONBody[ApiKeyIn]) -> ApiKeyCreated:
        secret, record = await svc.api_keys.issue(key, data.role, data.name)
        out = api_key_out(record)
        return ApiKeyCreated(**msgspec.structs.asdict(out), key=secret)

    @delete(
        "/{key_id:str}",
        opt={"role": Role.ADMIN, "action": "key.revoke"},
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke an API key (idempotent)",
    )
    async def revoke_key(
        self, svc: Svc, key: Key, key_id: Annotated[str, Parameter(pattern=API_KEY_ID)]
    ) -> None:
        await svc.api_keys.revoke(key, key_id)
