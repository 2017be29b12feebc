"""The one place errors become RFC 9457 problem-details responses.

Every answer of 400 or more is ``application/problem+json``: the control plane's
own errors (``plaza_control.errors``) by their class, Litestar's HTTP errors
(routing 404/405, body limit 413, validation 400, ...) by their status through
``HTTP_STATUS_PROBLEMS``, any other Litestar status as ``http-error``, and
anything unexpected as a logged 500 ``internal``. Bodies are decoded, and
refused, in ``plaza_control.routes.bodies.JsonRequest``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

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
    spread_ms,
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


RetryAfterMs = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        description="When to retry, in milliseconds: on every answer with Retry-After "
        "(409 room-full, 429, 503), whose header says ceil(retry_after_ms / 1000) "
        "seconds. Clients prefer this one: whole seconds quantise a spread into waves.",
    ),
]


PacingReason = Annotated[
    Literal["in_flight", "rate", "horizon"],
    msgspec.Meta(
        description="overloaded only: the join pacer's gate that refused: in_flight "
        "(too many joins in progress), rate (the admission schedule booked you the "
        "slot retry_after_ms ahead), horizon (the schedule is full; nothing booked)"
    ),
]


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem-details body, as ``problem`` writes it. Validation errors
    (400) add ``errors``; some problems add fields of their own. Every answer
    with a ``Retry-After`` header (whole seconds) carries ``retry_after_ms``."""

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
    #: When to retry, in milliseconds: on every answer with ``Retry-After``.
    retry_after_ms: RetryAfterMs | None = None
    #: ``overloaded`` only: which gate of the join pacer refused.
    reason: PacingReason | None = None


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    request: Request[Any, Any, Any],
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    retry_after_ms: int | None = None,
) -> Response[dict[str, Any]]:
    """``retry_after_ms`` sets both the body field and the ``Retry-After`` header
    (``ceil`` seconds); without it a whole-seconds ``Retry-After`` in ``headers``
    is copied into the body as milliseconds."""
    if retry_after_ms is not None:
        retry_after_ms = max(1, retry_after_ms)
        headers = {**(headers or {}), **retry_headers(retry_after_ms)}
    else:
        retry_after_ms = _retry_after_ms(headers)
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
    if retry_after_ms is not None:
        body["retry_after_ms"] = retry_after_ms
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _retry_after_ms(headers: dict[str, str] | None) -> int | None:
    """The body's ``retry_after_ms`` for an answer whose ``Retry-After`` header is
    whole seconds (an HTTP date, which nothing here sends, gives none)."""
    if not headers:
        return None
    for name, value in headers.items():
        if name.lower() == "retry-after" and value.strip().isdigit():
            return max(1, int(value) * 1000)
    return None


def retry_headers(retry_after_ms: int) -> dict[str, str]:
    """``Retry-After`` as whole seconds, rounded up, never below 1."""
    return {"Retry-After": str(max(1, -(-retry_after_ms // 1000)))}


def plaza_error(request: Request[Any, Any, Any], exc: PlazaError) -> Response[dict[str, Any]]:
    if exc.status >= 500:
        _log.warning("service error", code=exc.code, detail=exc.detail)
    return problem(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        request,
        exc.extra,
        retry_after_ms=exc.retry_after_ms,
    )


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


#: When a client should retry after a backing service failed: this plus up to
#: as much again (``errors.spread_ms``).
DEPENDENCY_RETRY_MS = 2000


def dependency_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.error("backing service error", error=type(exc).__name__, path=request.url.path)
    return problem(
        DependencyDown.status,
        DependencyDown.code,
        DependencyDown.title,
        "retry later",
        request,
        retry_after_ms=spread_ms(DEPENDENCY_RETRY_MS),
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
