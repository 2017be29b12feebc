"""The one place errors become RFC 9457 problem-details responses.

Every answer of 400 or more is ``application/problem+json``: the control plane's
own errors (``plaza_control.errors``) by their class, Litestar's HTTP errors
(routing 404/405, body limit 413, validation 400, ...) by their status through
``HTTP_STATUS_PROBLEMS``, any other Litestar status as ``http-error``, and
anything unexpected as a logged 500 ``internal``. Bodies are decoded, and
refused, in ``plaza_control.routes.bodies.JsonRequest``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from plaza_control.errors import (
    DependencyDown,
    Forbidden,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PlazaError,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from plaza_control.observability import current_request_id

MEDIA_TYPE = "application/problem+json"
#: The problem code of a Litestar HTTP error whose status has no class below.
HTTP_ERROR = "http-error"
#: Litestar's own HTTP errors, by status: the class whose code and title they take.
HTTP_STATUS_PROBLEMS: dict[int, type[PlazaError]] = {
    400: InvalidInput,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: TooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
    500: PlazaError,
    503: Unavailable,
}
_log = structlog.get_logger("plaza.errors")


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem-details body, as ``problem`` writes it. Validation errors
    (400) add ``errors``; some problems add fields of their own (``retry_after``
    values travel in the ``Retry-After`` header)."""

    #: ``urn:plaza:problem:<code>``; the codes are listed in docs/control.md.
    type: str
    title: str
    status: int
    detail: str
    #: The request path.
    instance: str
    #: The request's id (``X-Request-ID``), also in the logs.
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


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
            400, InvalidInput.code, InvalidInput.title, str(exc.detail), request, {"errors": errors}
        )
    status = exc.status_code
    headers = dict(exc.headers) if exc.headers else None
    if status >= 500:
        # Litestar's 5xx details can name internals: log them, answer a fixed text.
        _log.error("http error", status=status, detail=str(exc.detail), path=request.url.path)
    detail = str(exc.detail) if status < 500 else "the server could not answer this request"
    cls = HTTP_STATUS_PROBLEMS.get(status)
    if cls is not None:
        return problem(status, cls.code, cls.title, detail, request, headers=headers)
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "HTTP error"
    return problem(status, HTTP_ERROR, title, detail, request, headers=headers)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.error("unhandled error", exc_info=exc, path=request.url.path)
    return problem(500, PlazaError.code, PlazaError.title, "an unexpected error occurred", request)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    PlazaError: plaza_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


def dependency_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.error("backing service error", error=type(exc).__name__, path=request.url.path)
    return problem(
        DependencyDown.status,
        DependencyDown.code,
        DependencyDown.title,
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
