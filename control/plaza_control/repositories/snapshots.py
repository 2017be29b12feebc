"""Deletion of room snapshots whose lifetime has ended (docs/decisions/012).

``P room:{<room_id>}:snapshot`` is written by the relay hosting the room and is
needed only while that room lifetime lives (a relay re-homing the room restores
it; a relay opening a later lifetime ignores it). The control plane ends
lifetimes, so it deletes what they leave: after ``room_release`` (operator
close, the relay's ``RoomClosedEvent``) and after the sweeper releases a room.

A lifetime that ended never lives again (decisions/009: ``A room_lifetimes``
only grows), so "the snapshot's lifetime has ended" read from the allocation is
true for good once true; the delete itself is a compare-and-delete on the
snapshot key (``WATCH``, re-read, ``MULTI``/``DEL``), so a relay's write of a
live lifetime between the read and the delete is never lost.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from plaza_control import codec
from plaza_control.codec import CodecError
from plaza_control.keyspace import Keyspace

#: Attempts when relays keep writing the key between the read and the delete.
_ATTEMPTS = 3


def lifetime_ended(snapshot_lifetime: int, open_lifetime: int | None, last_lifetime: int) -> bool:
    """Whether a snapshot of ``snapshot_lifetime`` can never be restored again.

    ``open_lifetime``: the lifetime of the room's allocation (None: no
    allocation). ``last_lifetime``: ``A room_lifetimes``' value (0: never had
    one). Lifetime 0 was written before lifetimes existed and matches no room.
    A snapshot newer than every lifetime given is kept (Redis lost allocation
    data; the relay that wrote it knows better)."""
    if snapshot_lifetime == 0:
        return True
    if snapshot_lifetime > last_lifetime:
        return False
    return open_lifetime != snapshot_lifetime


async def forget_ended_snapshot(r: aioredis.Redis, keyspace: Keyspace, room_id: str) -> bool:
    """Delete the room's snapshot if the lifetime it holds has ended; True if
    deleted. An unreadable snapshot is left to its TTL."""
    pipe = r.pipeline(transaction=False)
    pipe.exists(keyspace.room(room_id))
    pipe.hget(keyspace.room(room_id), "lifetime")
    pipe.hget(keyspace.room_lifetimes, room_id)
    exists, open_raw, last_raw = await pipe.execute()
    open_lifetime = int(open_raw or 0) if exists else None
    last = int(last_raw or 0)
    key = keyspace.room_snapshot(room_id)
    async with r.pipeline(transaction=True) as tx:
        for _ in range(_ATTEMPTS):
            try:
                await tx.watch(key)
                raw = await tx.get(key)
                if raw is None:
                    return False
                try:
                    held = codec.decode_room_state(raw if isinstance(raw, bytes) else raw.encode())
                except CodecError:
                    return False
                if not lifetime_ended(held.room_lifetime, open_lifetime, last):
                    return False
                tx.multi()  # type: ignore[no-untyped-call]
                tx.delete(key)
                await tx.execute()
                return True
            except WatchError:
                continue
    return False
