"""Durations and times as an operator types them: ``90``, ``90s``, ``15m``,
``2h``, ``1h30m``, ``7d``, ``2w``; times as unix ms, ISO 8601, or a duration ago."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw]?)")
_WHOLE = re.compile(r"(?:\d+[smhdw]?)+")


def parse_duration(text: str | int) -> int:
    """Whole seconds in ``text`` (``0`` is zero); ValueError when it is not a
    duration. An int is seconds already (an option's default)."""
    if isinstance(text, int):
        return text
    raw = text.strip().lower()
    if not _WHOLE.fullmatch(raw):
        raise ValueError(f"{text!r} is not a duration (e.g. 90, 90s, 15m, 2h, 1h30m, 7d)")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(raw))


def parse_time_ms(text: str, now_ms: int | None = None) -> int:
    """Unix ms from ``text``: digits are unix ms; a duration with a unit is that
    long ago (``15m``); anything else is ISO 8601 (UTC when it has no offset)."""
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if _WHOLE.fullmatch(raw.lower()):
        return now - parse_duration(raw) * 1000
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time (unix ms, ISO 8601 such as 2026-12-01T11:00:00Z, "
            "or a duration ago such as 15m)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def format_ms(ms: int) -> str:
    """``2026-12-01 11:27:03Z`` for a unix ms time; ``-`` for 0 (never)."""
    if ms <= 0:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def format_seconds(seconds: int | None) -> str:
    """``1h30m`` for 5400; ``permanent`` for 0; ``-`` for none."""
    if seconds is None:
        return "-"
    if seconds == 0:
        return "permanent"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out
