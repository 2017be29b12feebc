"""Trimming ``P events`` behind every consumer group (docs/redis.md, "Trimming
the events stream").

The relay caps the stream with ``XADD … MAXLEN ~ 1000000``; left at that, Redis
holds up to a million entries every group acknowledged long ago (~330 MiB at
~340 B an entry). The control plane's maintenance trims it to what some group
may still need: the **trim point** is the smallest, over every group of the
stream, of its oldest pending entry (delivered, not yet acknowledged) or, with
nothing pending, its last delivered entry (everything after it is undelivered,
everything up to it acknowledged). ``XTRIM P events MINID ~ <point>`` then
removes only entries below it (``~``: whole stream nodes, never more).

Nothing is trimmed while a group this version consumes with is missing (it is
created at ``0`` and must get everything the stream holds), nor while the
stream does not exist. Safe with any number of replicas: every input only
moves forward (acknowledgement, delivery), so a replica that read an older
state trims less, never an entry a group still needs; ``XTRIM`` itself is
idempotent. A group that stops acknowledging holds the trim point back, and
the stream grows to the relay's ``MAXLEN`` cap, which then wins: the oldest
entries go, acknowledged or not (a consumer reading one gets no fields and
dead-letters it as "entry trimmed before delivery"). The gauges below show it
coming: stream length near the cap, and the trim point's age growing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ResponseError


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class TrimResult(msgspec.Struct, frozen=True, kw_only=True):
    #: ``XLEN`` after the trim (0: no stream).
    length: int
    #: The trim point (``<ms>-<seq>``), or "" when nothing may be trimmed.
    point: str
    #: Entries removed by this call.
    trimmed: int


async def trim_point(r: aioredis.Redis, stream: str, groups: Sequence[str]) -> str:
    """The id below which no group of ``stream`` needs an entry, or "" when
    nothing may be trimmed (no stream, no group, or one of ``groups`` missing).
    Every group of the stream counts, also ones this version does not know."""
    try:
        infos: list[dict[Any, Any]] = await r.xinfo_groups(stream)
    except ResponseError as exc:
        if "no such key" in str(exc).lower():
            return ""
        raise
    by_name = {_s(g.get("name", b"")): g for g in infos}
    if not by_name or any(g not in by_name for g in groups):
        return ""
    points: list[str] = []
    for name, info in by_name.items():
        # Read before XPENDING: a group's position only moves forward, so a
        # last-delivered id read first is never after what XPENDING finds.
        point = _s(info.get("last-delivered-id") or b"0-0")
        if int(info.get("pending") or 0) > 0:
            summary: Any = await r.xpending(stream, name)
            oldest = summary.get("min") if summary else None
            if oldest:
                point = _s(oldest)
        points.append(point)
    return min(points, key=_id_key)


async def trim_acknowledged(r: aioredis.Redis, stream: str, groups: Sequence[str]) -> TrimResult:
    """``XTRIM stream MINID ~ <trim point>`` (see the module text)."""
    point = await trim_point(r, stream, groups)
    trimmed = 0
    if point and _id_key(point) > (0, 0):
        trimmed = int(await r.xtrim(stream, minid=point, approximate=True))
    length = int(await r.xlen(stream))
    return TrimResult(length=length, point=point, trimmed=trimmed)


def point_age_ms(point: str, now_ms: int) -> int:
    """How far behind ``now_ms`` the trim point is (0 without one)."""
    return max(0, now_ms - _id_key(point)[0]) if point else 0
