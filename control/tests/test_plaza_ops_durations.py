"""How plaza-ops reads durations and times, and shows problems."""

from __future__ import annotations

import pytest

from plaza_ops.durations import format_seconds, parse_duration, parse_time_ms
from plaza_ops.errors import ApiError, ExitCode, exit_code_for


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("90", 90),
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1h30m", 5400),
        ("7d", 604800),
        ("2w", 1209600),
        (" 1D ", 86400),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "1.5h", "-5m", "h", "1x"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_times() -> None:
    now = 1_800_000_000_000
    assert parse_time_ms("1700000000000", now) == 1_700_000_000_000
    assert parse_time_ms("15m", now) == now - 900_000
    assert parse_time_ms("2026-12-01T11:00:00Z", now) == 1_796_122_800_000
    assert parse_time_ms("2026-12-01T11:00:00", now) == 1_796_122_800_000
    with pytest.raises(ValueError, match="not a time"):
        parse_time_ms("yesterday", now)


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (None, 0, 5400, 90061)] == [
        "-",
        "permanent",
        "1h30m",
        "1d1h1m1s",
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, ExitCode.USAGE),
        (401, ExitCode.AUTH),
        (403, ExitCode.AUTH),
        (404, ExitCode.NOT_FOUND),
        (409, ExitCode.OTHER),
        (413, ExitCode.USAGE),
        (415, ExitCode.USAGE),
        (429, ExitCode.RETRY_LATER),
        (500, ExitCode.OTHER),
        (503, ExitCode.RETRY_LATER),
    ],
)
def test_exit_codes(status: int, code: ExitCode) -> None:
    assert exit_code_for(status) == code


def test_problem_line() -> None:
    err = ApiError(
        400,
        {
            "type": "urn:plaza:problem:invalid-input",
            "title": "Invalid input",
            "status": 400,
            "detail": "Validation failed for POST /v1/ops/users/u_1/ban",
            "request_id": "r1",
            "errors": [{"message": "Expected `str` of length >= 1", "key": "reason"}],
        },
    )
    assert err.message == (
        "400 invalid-input: Validation failed for POST /v1/ops/users/u_1/ban "
        "(reason: Expected `str` of length >= 1) (request r1)"
    )
    assert err.code == ExitCode.USAGE
    assert ApiError(502, {}).message == "502 http-error: no detail"
