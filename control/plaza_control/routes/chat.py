"""Chat history of a room: a player reads their current room, an operator any room."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.params import Parameter

from plaza_control import paging
from plaza_control import validation as v
from plaza_control.errors import Forbidden
from plaza_control.events.reads import MAX_PAGE, ChatPage
from plaza_control.models import Role
from plaza_control.routes.deps import Svc, player_session, services

RoomIdP = Annotated[str, Parameter(pattern=v.ROOM_ID)]
Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE)]
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
        cursor: Annotated[
            str | None, Parameter(pattern=paging.CURSOR_PATTERN, description="a page's `next`")
        ] = None,
        limit: Limit = 50,
        lifetime: Annotated[
            int | None,
            Parameter(ge=0, le=MAX_INT64, description="operators: another lifetime of the room"),
        ] = None,
    ) -> ChatPage:
        """A player (session token) reads the room they hold a seat in; an operator
        (``X-API-Key``, viewer or above) reads any room. The history is that of the
        room's current lifetime (a room closed and opened again starts empty);
        operators may ask for another with ``lifetime``. Pass ``next`` back as
        ``cursor`` with the same ``order`` for the following page."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        presented = request.headers.get("x-api-key") or (bearer if bearer.startswith("pk_") else "")
        if presented:
            key = await svc.api_keys.authenticate(presented)
            svc.api_keys.require(key, Role.VIEWER)
        else:
            claims = player_session(request)
            await svc.chat_history.check_player(claims.sub, room_id)
            if lifetime is not None:
                raise Forbidden("players read the current lifetime of their room only")
        return await svc.chat_history.page(room_id, order, cursor, limit, lifetime)
