"""The bound on ``A sessions_ended``, the tombstones of ended relay sessions
(docs/decisions/012).

A tombstone makes member events of one session idempotent: a join event applied
after its session's leave confirms nothing, and a leave applied twice frees
once. It is needed only while an event it guards can still reach the ``seats``
consumer group, i.e. while an entry of ``P events`` written before the leave
was applied is still unacknowledged. Every entry id is the Redis server's time
(``XADD … *``) and every tombstone's score is the Redis server's time when its
leave was applied (``seat_release.lua``), so once the group's oldest
unacknowledged entry is younger than a tombstone, no event of that session
will ever be delivered to the group again: the tombstone can go.

``seat_release.lua`` also drops tombstones older than
``PLAZA_EVENTS_ENDED_TTL_SECONDS`` on every leave, whatever the group does:
the hard bound when an entry stays pending (a consumer keeps failing on it).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from plaza_control.keyspace import Keyspace

#: Kept below the bound: rounding of entry ids and scores to the ms, and clocks
#: of two Redis nodes when the stream and the allocation slot are apart.
MARGIN_MS = 1000


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def entry_ms(entry_id: str) -> int:
    """The ms part of a stream entry id ``<ms>-<seq>``."""
    return int(entry_id.partition("-")[0])


async def oldest_unacked_ms(r: aioredis.Redis, stream: str, group: str) -> int | None:
    """The time (ms) before which every entry of ``stream`` is acknowledged by
    ``group``: its oldest pending entry's, else its last delivered entry's + 1.
    None when the stream or the group does not exist (nothing can be trimmed:
    a group created later starts at 0 and delivers everything)."""
    try:
        groups: list[dict[Any, Any]] = await r.xinfo_groups(stream)
    except ResponseError as exc:
        if "no such key" in str(exc).lower():
            return None
        raise
    info = next((g for g in groups if _s(g.get("name", b"")) == group), None)
    if info is None:
        return None
    if int(info.get("pending") or 0) > 0:
        summary: Any = await r.xpending(stream, group)
        oldest = summary.get("min") if summary else None
        if oldest:
            return entry_ms(_s(oldest))
    last = _s(info.get("last-delivered-id") or b"0-0")
    return entry_ms(last) + 1


async def trim_ended_sessions(
    r: aioredis.Redis, keyspace: Keyspace, group: str, margin_ms: int = MARGIN_MS
) -> int:
    """Drop the tombstones no event can need any more (see the module text);
    returns how many. Run by each seats consumer with its housekeeping."""
    bound = await oldest_unacked_ms(r, keyspace.events, group)
    if bound is None or bound - margin_ms <= 0:
        return 0
    return int(await r.zremrangebyscore(keyspace.sessions_ended, "-inf", f"({bound - margin_ms}"))
