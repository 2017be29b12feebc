"""Dependencies and guards shared by the routes."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from plaza_control.container import Services
from plaza_control.errors import Unauthenticated
from plaza_control.models import ApiKey, Role
from plaza_control.tokens import SessionClaims


def services(state: State) -> Services:
    svc: Services = state.services
    return svc


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    auth = connection.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def client_ip(request: Request[Any, Any, Any]) -> str:
    svc = services(request.app.state)
    if svc.settings.trust_forwarded_for:
        fwd = request.headers.get("x-forwarded-for", "")
        first = fwd.split(",")[0].strip()
        if first:
            return first[:64]
    return request.client.host if request.client else "unknown"


def player_session(request: Request[Any, Any, Any]) -> SessionClaims:
    """Synchronous on purpose (a CPU-only check): no coroutine per request."""
    token = _bearer(request)
    if token is None:
        raise Unauthenticated("a player session token is required (Authorization: Bearer)")
    return services(request.app.state).sessions.verify(token)


async def operator_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Authenticate the API key (``X-API-Key`` or ``Authorization: Bearer pk_...``)
    and check the handler's ``opt["role"]``. A refused mutating call is audited."""
    needed: Role | None = handler.opt.get("role")
    if needed is None:
        # Litestar's automatic OPTIONS handlers carry no role: they only list methods.
        return
    svc = services(connection.app.state)
    presented = connection.headers.get("x-api-key") or _bearer(connection)
    if not presented:
        raise Unauthenticated("an operator API key is required")
    key = await svc.api_keys.authenticate(presented)
    if not key.role.allows(needed):
        if connection.scope.get("method", "GET") != "GET":
            async with svc.auditor.action(
                key, str(handler.opt.get("action", "ops")), connection.url.path
            ):
                svc.api_keys.require(key, needed)
        svc.api_keys.require(key, needed)
    connection.state.api_key = key


async def operator(request: Request[Any, Any, Any]) -> ApiKey:
    key: ApiKey = request.state.api_key
    return key


#: Handler parameter markers (Litestar's explicit name-based injection).
Svc = NamedDependency[Services]
Key = NamedDependency[ApiKey]
Session = NamedDependency[SessionClaims]
