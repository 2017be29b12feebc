"""The served OpenAPI document and its UI.

The schema must be true: every operation declares its security scheme and every
problem status it can answer, with the RFC 9457 body (component ``Problem``).
The statuses follow from what a handler is (``declare_problems``);
``control/tests/test_schemathesis.py`` fails on any status or content type a
live server answers that its operation does not declare. Swagger UI is served
from the pinned ``swagger-ui-bundle-v2`` wheel at ``/schema/assets``, so the page
works with no internet (no CDN URL in it; ``test_openapi_docs.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.router import Router
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.types import Method
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from plaza_control import __version__
from plaza_control.routes.deps import operator_guard
from plaza_control.routes.problems import MEDIA_TYPE, Problem

SCHEMA_PATH = "/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/assets"
API_KEY = "apiKey"
SESSION = "session"
FAVICON = f"{ASSETS_PATH}/favicon-32x32.png"
_MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def assets_router() -> Router:
    """Swagger UI's files from the wheel (js, css, favicons), outside the schema."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[str(swagger_ui_path)],
        name="openapi-assets",
        include_in_schema=False,
        cache_control=None,
    )


def _operation_id(handler: HTTPRouteHandler, method: Method, _path: list[Any]) -> str:
    """``<tag><HandlerName>``: ``opsDrain``, ``worldsCreateWorld``, ``playersJoin``."""
    tags = handler.resolve_tags()
    prefix = tags[0] if tags else "plaza"
    words = re.split(r"_+", handler.handler_name)
    return prefix + "".join(w[:1].upper() + w[1:] for w in words if w)


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Plaza control plane",
        version=__version__,
        path=SCHEMA_PATH,
        operation_id_creator=_operation_id,
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{FAVICON}'>",
            )
        ],
        components=Components(
            security_schemes={
                API_KEY: SecurityScheme(
                    type="apiKey",
                    name="X-API-Key",
                    security_scheme_in="header",
                    description="Operator API key (`pk_<id>_<secret>`); roles viewer < moderator < "
                    "admin. `Authorization: Bearer pk_...` is accepted too.",
                ),
                SESSION: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="Player session token from /v1/auth/*",
                ),
            }
        ),
    )


def _problem(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        media_type=MEDIA_TYPE,
        description=f"{HTTPStatus(status).phrase} (RFC 9457 problem details)",
        generate_examples=False,
    )


def problem_statuses(
    handler: HTTPRouteHandler, methods: Iterable[str], has_params: bool, has_path_params: bool
) -> set[int]:
    """The problem statuses a handler can answer, from what it is:

    - any parameter or body: 400 (validation); a body: 413 and 415 too;
    - an operator route (``operator_guard``): 401, 403; a player route (session
      dependency or ``session`` security): 401; players' routes (``players`` tag:
      sign-in and join) refuse tokens (401), bans (403) and are rate limited (429);
    - every API route reads Redis or MongoDB: 503 (``dependency-down``);
      ``/readyz`` answers 503 when Redis is down;
    - a mutating API route or one with path parameters: 404; a mutating one: 409.
    """
    tags = set(handler.resolve_tags())
    if "system" in tags:
        return {503} if handler.handler_name == "readyz" else set()
    data = "data" in handler.parsed_fn_signature.parameters
    statuses = {503}
    if has_params or data:
        statuses.add(400)
    if data:
        statuses |= {413, 415}
    security = handler.resolve_security() or []
    if operator_guard in handler.resolve_guards() or any(API_KEY in s for s in security):
        statuses |= {401, 403}
    if "session" in handler.resolve_dependencies() or any(SESSION in s for s in security):
        statuses.add(401)
    if "players" in tags:
        statuses |= {401, 403, 429}
    mutating = bool(set(methods) & _MUTATING)
    if mutating or has_path_params:
        statuses.add(404)
    if mutating:
        statuses.add(409)
    return statuses


def declare_problems(app: Litestar) -> None:
    """Give every operation of ``app`` its security and problem responses (before
    the schema is first built; handlers are this app's own copies). A status the
    handler already declares is kept."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            path_params = bool(route.path_parameters)
            statuses = problem_statuses(
                handler, handler.http_methods, path_params or _has_query(handler), path_params
            )
            declared = dict(handler.responses or {})
            for status in sorted(statuses):
                declared.setdefault(status, _problem(status))
            handler.responses = declared
            if handler.summary is None:
                handler.summary = handler.handler_name.replace("_", " ").capitalize()


def _has_query(handler: HTTPRouteHandler) -> bool:
    ignored = {"self", "svc", "key", "session", "request", "state", "data"}
    return bool(set(handler.parsed_fn_signature.parameters) - ignored)
