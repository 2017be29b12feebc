"""The one place errors become RFC 9457 problem-details responses."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from plaza_control.errors import PlazaError
from plaza_control.observability import current_request_id

MEDIA_TYPE = "application/problem+json"
_log = structlog.get_logger("plaza.errors")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    request: Request[Any, Any, Any],
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"urn:plaza:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    rid = current_request_id()
    if rid:
        body["request_id"] = rid
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def plaza_error(request: Request[Any, Any, Any], exc: PlazaError) -> Response[dict[str, Any]]:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    if exc.status >= 500:
        _log.warning("service error", code=exc.code, detail=exc.detail)
    return problem(exc.status, exc.code, exc.title, exc.detail, request, exc.extra, headers)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else []
        return problem(
            400, "invalid-input", "Invalid input", str(exc.detail), request, {"errors": errors}
        )
    status = exc.status_code
    code = {
        401: "unauthenticated",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        415: "unsupported-media-type",
    }.get(status, "http-error")
    headers = dict(exc.headers) if exc.headers else None
    return problem(status, code, str(exc.detail), str(exc.detail), request, headers=headers)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.error("unhandled error", exc_info=exc, path=request.url.path)
    return problem(500, "internal", "Internal error", "an unexpected error occurred", request)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    PlazaError: plaza_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


def dependency_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.error("backing service error", error=type(exc).__name__, path=request.url.path)
    return problem(
        503,
        "dependency-down",
        "A backing service is unreachable",
        "retry later",
        request,
        headers={"Retry-After": "2"},
    )


def _register_dependency_errors() -> None:
    from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    for exc in (
        ConnectionFailure,
        ServerSelectionTimeoutError,
        RedisConnectionError,
        RedisTimeoutError,
    ):
        EXCEPTION_HANDLERS[exc] = dependency_error


_register_dependency_errors()
