"""Chat history (players and operators), command acks and session records (operators)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.params import Parameter

from plaza_control import validation as v
from plaza_control.events.models import CommandStatus
from plaza_control.events.reads import MAX_PAGE, ChatPage, CommandPage, SessionPage
from plaza_control.models import Role
from plaza_control.routes.deps import Svc, operator_guard, player_session, services

RoomIdP = Annotated[str, Parameter(pattern=v.ROOM_ID)]
UserIdP = Annotated[str, Parameter(pattern=v.USER_ID)]
Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE)]
VIEWER = {"role": Role.VIEWER}
#: MongoDB integers are signed 64-bit.
MAX_INT64 = 2**63 - 1


class ChatController(Controller):
    path = "/v1/rooms"
    tags = ["chat"]
    dependencies = {"svc": Provide(services, sync_to_thread=False)}

    @get(
        "/{room_id:str}/chat",
        summary="Chat history of a room, paged by sequence",
        security=[{"session": []}, {"apiKey": []}],
    )
    async def chat(
        self,
        request: Request[Any, Any, Any],
        svc: Svc,
        room_id: RoomIdP,
        order: Annotated[
            Literal["newest", "oldest"], Parameter(description="newest or oldest first")
        ] = "newest",
        cursor: Annotated[int | None, Parameter(ge=0, le=MAX_INT64)] = None,
        limit: Limit = 50,
    ) -> ChatPage:
        """A player (session token) reads the room they hold a seat in; an operator
        (``X-API-Key``, viewer or above) reads any room. Pass ``next`` back as
        ``cursor`` with the same ``order`` for the following page."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        presented = request.headers.get("x-api-key") or (bearer if bearer.startswith("pk_") else "")
        if presented:
            key = await svc.api_keys.authenticate(presented)
            svc.api_keys.require(key, Role.VIEWER)
        else:
            claims = await player_session(request)
            await svc.chat_history.check_player(claims.sub, room_id)
        return await svc.chat_history.page(room_id, order, cursor, limit)


class EventRecordsController(Controller):
    path = "/v1/ops"
    tags = ["ops"]
    guards = [operator_guard]
    security = [{"apiKey": []}]
    dependencies = {"svc": Provide(services, sync_to_thread=False)}

    @get("/commands", opt=VIEWER, summary="Commands, newest first, with their acks")
    async def commands(
        self,
        svc: Svc,
        before: Annotated[str | None, Parameter(pattern=r"^\d{1,15}-[0-9a-f-]{36}$")] = None,
        ack: Annotated[
            Literal["pending", "ok", "failed"] | None, Parameter(description="only this status")
        ] = None,
        limit: Limit = 100,
    ) -> CommandPage:
        return await svc.event_records.commands(limit, before, ack)

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
        before: Annotated[int | None, Parameter(ge=0, le=MAX_INT64)] = None,
        limit: Limit = 50,
    ) -> SessionPage:
        return await svc.event_records.sessions(user_id, limit, before)
