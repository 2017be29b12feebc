"""The one exception tree of the control plane.

Services and repositories raise these; ``plaza_control.routes.problems`` maps every one
of them (and Litestar's own HTTP errors) to an RFC 9457 problem-details response
in one place. Each class fixes its HTTP status and a stable ``code`` that becomes
the problem ``type`` (``urn:plaza:problem:<code>``). The problem table in
``docs/control.md`` lists exactly these codes (``over_http`` ones) and the
``http-error`` fallback; ``control/tests/test_bad_input.py`` holds them equal.
"""

from __future__ import annotations

import random


class PlazaError(Exception):
    """Base of every error the control plane raises on purpose."""

    status: int = 500
    code: str = "internal"
    title: str = "Internal error"
    #: False for errors that stop the process at start and never reach a client.
    over_http: bool = True

    def __init__(
        self,
        detail: str = "",
        *,
        retry_after: int | None = None,
        retry_after_ms: int | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        """``retry_after`` (whole seconds) or ``retry_after_ms`` (milliseconds, the
        precise one) says when to come back; the answer carries both, the
        ``Retry-After`` header as ``ceil(retry_after_ms / 1000)`` seconds and the
        problem body's ``retry_after_ms`` (``plaza_control.routes.problems``)."""
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if retry_after is not None and retry_after_ms is not None:
            raise ValueError("give retry_after or retry_after_ms, not both")
        if retry_after is not None:
            retry_after_ms = retry_after * 1000
        #: Milliseconds (>= 1) until the client should retry, or None.
        self.retry_after_ms = None if retry_after_ms is None else max(1, retry_after_ms)
        self.extra = extra or {}

    @property
    def retry_after(self) -> int | None:
        """The ``Retry-After`` header's whole seconds: ``ceil(retry_after_ms / 1000)``."""
        if self.retry_after_ms is None:
            return None
        return max(1, -(-self.retry_after_ms // 1000))


class ConfigError(PlazaError):
    code = "config"
    title = "Invalid configuration"
    over_http = False


class InvalidInput(PlazaError):
    status = 400
    code = "invalid-input"
    title = "Invalid input"


class Unauthenticated(PlazaError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required or failed"


class Forbidden(PlazaError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class Banned(Forbidden):
    code = "banned"
    title = "User is banned"


class NotFound(PlazaError):
    status = 404
    code = "not-found"
    title = "Not found"


class MethodNotAllowed(PlazaError):
    status = 405
    code = "method-not-allowed"
    title = "Method not allowed"


class Conflict(PlazaError):
    status = 409
    code = "conflict"
    title = "Conflict"


class RoomFull(Conflict):
    code = "room-full"
    title = "Room is full"


class TooLarge(PlazaError):
    status = 413
    code = "too-large"
    title = "Request body too large"


class UnsupportedMediaType(PlazaError):
    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


class RateLimited(PlazaError):
    status = 429
    code = "rate-limited"
    title = "Too many requests"


class Unavailable(PlazaError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


class NoRelayAvailable(Unavailable):
    code = "no-relay"
    title = "No live relay can take this room"


class DependencyDown(Unavailable):
    code = "dependency-down"
    title = "A backing service is unreachable"


def spread_ms(base_ms: int) -> int:
    """A retry hint of ``base_ms`` plus up to as much again, uniformly: clients
    refused in the same instant come back spread over a window instead of in
    one wave (docs/protocol.md §8 adds only 250 ms of jitter to a hint)."""
    return base_ms + random.randint(0, base_ms)  # noqa: S311 - jitter, not secrecy
