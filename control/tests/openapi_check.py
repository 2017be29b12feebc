"""Holds answers the tests observe to the schema the app serves: a status (and
its content type) an operation does not declare fails the test that saw it.
Used by the fuzzer (``test_schemathesis.py``) and by tests that call real
routes with real inputs (``test_roles.py``, ``test_api_keys.py``)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from plaza_control.app import create_app
from plaza_control.settings import Settings


@cache
def app_schema() -> dict[str, Any]:
    """The schema the app serves, built without I/O (create_app opens nothing)."""
    doc: dict[str, Any] = create_app(Settings(), background=False).openapi_schema.to_schema()
    return doc


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in app_schema()["paths"]:
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        out.append((re.compile(pattern), template))
    # Literal paths before templated ones (fewest parameters first).
    return sorted(out, key=lambda t: t[1].count("{"))


def operation_path(path: str) -> str:
    """The schema's path template for a concrete request path."""
    path = path.split("?", 1)[0]
    if path != "/" and path.endswith("/"):
        path = path[:-1]
    for pattern, template in _templates():
        if pattern.fullmatch(path):
            return template
    raise AssertionError(f"{path} matches no path of the schema")


def assert_declared(method: str, path: str, status: int, content_type: str | None) -> None:
    """The answer ``status`` (with ``content_type``) is in the operation's schema.
    ``path`` is a template or a concrete path. A method the path does not have
    must answer 405, or 204 for Litestar's automatic ``OPTIONS``."""
    paths = app_schema()["paths"]
    template = path if path in paths else operation_path(path)
    ops = paths[template]
    if method.lower() not in ops:
        assert status == (204 if method.upper() == "OPTIONS" else 405), (
            f"{method} {template} (no such operation) answered {status}"
        )
        return
    declared: dict[str, Any] = ops[method.lower()]["responses"]
    assert str(status) in declared, (
        f"{method} {template} answered {status}, undeclared (declared: {sorted(declared)})"
    )
    content = declared[str(status)].get("content")
    if content and content_type:
        media = content_type.split(";")[0].strip()
        assert media in content, f"{method} {template} {status}: {media} not in {sorted(content)}"


def observe(client: Any) -> None:
    """Check every answer ``client`` (an httpx client, e.g. Litestar's test
    client) receives from an operation of the schema; paths the schema does not
    have (404 probes, the docs, ``/metrics``) are not checked."""

    async def check(response: Any) -> None:
        path = response.request.url.path
        try:
            operation_path(path)
        except AssertionError:
            return
        ctype = response.headers.get("content-type")
        assert_declared(response.request.method, path, response.status_code, ctype)

    client.event_hooks["response"].append(check)
