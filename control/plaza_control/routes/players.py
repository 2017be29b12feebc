"""Player endpoints: sign-in, refresh, logout, join."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from plaza_control.errors import PlazaError
from plaza_control.routes.bodies import ExternalSignIn, GuestSignIn, JoinIn, RefreshIn
from plaza_control.routes.deps import Session, Svc, client_ip, player_session, services
from plaza_control.services.join import Joined
from plaza_control.services.players import SignedIn


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["players"]
    dependencies = {"svc": Provide(services, sync_to_thread=False)}

    @post("/guest", status_code=HTTP_200_OK, summary="Guest/device sign-in")
    async def guest(
        self, request: Request[Any, Any, Any], data: JSONBody[GuestSignIn], svc: Svc
    ) -> SignedIn:
        """A device id becomes a user on first use; later sign-ins return the same user."""
        try:
            out = await svc.players.guest(data.device_id, data.display_name, client_ip(request))
        except PlazaError as exc:
            svc.metrics.signins.labels("guest", exc.code).inc()
            raise
        svc.metrics.signins.labels("guest", "ok").inc()
        return out

    @post("/external", status_code=HTTP_200_OK, summary="Sign in with an external identity token")
    async def external(
        self, request: Request[Any, Any, Any], data: JSONBody[ExternalSignIn], svc: Svc
    ) -> SignedIn:
        try:
            out = await svc.players.external(data.id_token, data.display_name, client_ip(request))
        except PlazaError as exc:
            svc.metrics.signins.labels("external", exc.code).inc()
            raise
        svc.metrics.signins.labels("external", "ok").inc()
        return out

    @post("/refresh", status_code=HTTP_200_OK, summary="Rotate a refresh token")
    async def refresh(
        self, request: Request[Any, Any, Any], data: JSONBody[RefreshIn], svc: Svc
    ) -> SignedIn:
        return await svc.players.refresh(data.refresh_token, client_ip(request))

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Revoke a refresh token family")
    async def logout(self, data: JSONBody[RefreshIn], svc: Svc) -> None:
        await svc.players.logout(data.refresh_token)


class JoinController(Controller):
    path = "/v1/join"
    tags = ["players"]
    security = [{"session": []}]
    # One dependency only: Litestar resolves a batch of two or more in an anyio
    # task group, which cost ~10 % of a join's CPU (docs/control-benchmarks.md).
    dependencies = {"session": Provide(player_session, sync_to_thread=False)}

    @post("/", status_code=HTTP_200_OK, summary="Join a world (or a specific room)")
    async def join(
        self, request: Request[Any, Any, Any], data: JSONBody[JoinIn], session: Session
    ) -> Joined:
        """Returns the room, the relay's public URL, a signed ticket and the room settings.
        409, 429 and 503 answers carry ``Retry-After`` (whole seconds) and, in the
        problem body, ``retry_after_ms`` (the precise wait: prefer it). 503
        ``overloaded`` (the join pacer) also says ``reason``; its ``retry_after_ms``
        is a slot of the admission schedule (docs/control.md)."""
        svc = services(request.app.state)
        try:
            async with svc.pacer.slot():
                out = await svc.join.join(
                    session,
                    data.world_id,
                    data.room_id,
                    data.region,
                    data.resume_session_id,
                    client_ip(request),
                )
        except PlazaError as exc:
            svc.metrics.joins.labels(exc.code).inc()
            raise
        svc.metrics.joins.labels("ok").inc()
        return out
