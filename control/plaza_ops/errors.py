"""What can go wrong in a plaza-ops call, and the exit code each outcome has.

Every failure is one ``OpsError`` carrying the line shown on stderr and the
process's exit status; an API error keeps its RFC 9457 problem fields."""

from __future__ import annotations

import enum
from typing import Any


class ExitCode(enum.IntEnum):
    """The documented exit statuses (docs/operations.md, "plaza-ops")."""

    OK = 0
    #: Anything else: the server failed (5xx), could not be reached, timed out,
    #: a conflict (409), or answered something that is not JSON.
    OTHER = 1
    #: The command line was wrong (unknown option, missing argument, bad value)
    #: or the API refused the input (400, 413, 415).
    USAGE = 2
    #: No key given, or the API refused it (401) or its role (403).
    AUTH = 3
    #: The API answered 404: no such relay, room, user, command, key or world.
    NOT_FOUND = 4
    #: The API asked to retry later (429 rate limited, 503 unavailable).
    RETRY_LATER = 5


def exit_code_for(status: int) -> ExitCode:
    """The exit code of an API answer with this HTTP status (>= 400)."""
    if status in (401, 403):
        return ExitCode.AUTH
    if status == 404:
        return ExitCode.NOT_FOUND
    if status in (429, 503):
        return ExitCode.RETRY_LATER
    if status in (400, 413, 415):
        return ExitCode.USAGE
    return ExitCode.OTHER


class OpsError(Exception):
    """A failed call: ``message`` is the one line shown, ``code`` the exit status."""

    def __init__(self, message: str, code: ExitCode = ExitCode.OTHER) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ApiError(OpsError):
    """The API answered an error status; ``problem`` is its problem-details body
    (empty when the body was not one)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(problem_line(status, problem), exit_code_for(status))


def problem_line(status: int, problem: dict[str, Any]) -> str:
    """One line from a problem: ``404 not-found: room x is not open (request r1)``;
    a validation problem (400) adds its first field error."""
    kind = str(problem.get("type", "")).removeprefix("urn:plaza:problem:") or "http-error"
    detail = str(problem.get("detail") or problem.get("title") or "no detail")
    errors = problem.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        where = first.get("key") or first.get("source") or ""
        detail += f" ({where}: {first.get('message', '')})" if where else f" ({first})"
    rid = problem.get("request_id")
    return f"{status} {kind}: {detail}" + (f" (request {rid})" if rid else "")
