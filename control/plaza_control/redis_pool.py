"""The join path's Redis client (decision 019): its own pool, tuned for many short requests.

- No per-read socket timeout and no health-check ``PING``: redis-py wraps every
  reply read in an ``asyncio.timeout`` (a pipeline of seven commands reads seven
  replies) and checks the clock before every command. The join service bounds a
  whole join once instead (``JoinPolicy.redis_timeout_ms``); a dead connection
  still fails its command and redis-py's retry reconnects.
- ``get_connection`` without redis-py 8's deprecated-arguments wrapper, which
  inspects the call's arguments on every command and pipeline (Plaza never
  passes the deprecated ones).
- ``RawCommands``: the join's two round trips (a batch of seven commands, then
  ``EVALSHA join.lua``) are sent as built commands over one pooled connection
  and their replies read in order: what redis-py's ``Pipeline`` and
  ``Script`` do, without their per-command bookkeeping (command stack,
  response callbacks, option dicts). Packing and reply parsing stay
  redis-py's (and hiredis').

Each cut was measured with ``scripts/bench_join.py`` (docs/control-benchmarks.md).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.typing import EncodableT

_decorated = aioredis.ConnectionPool.get_connection
#: The method under redis-py's ``deprecated_args`` decorator (``functools.wraps``
#: keeps it as ``__wrapped__``); the method itself when a redis-py has no wrapper.
_UNDECORATED_GET_CONNECTION: Any = getattr(_decorated, "__wrapped__", _decorated)


class JoinPathConnectionPool(aioredis.ConnectionPool):
    """A ``ConnectionPool`` whose ``get_connection`` skips the argument check."""

    async def get_connection(
        self, command_name: Any = None, *keys: Any, **options: Any
    ) -> aioredis.Connection:
        conn: aioredis.Connection = await _UNDECORATED_GET_CONNECTION(self)
        return conn


def join_path_client(url: str, *, max_connections: int = 256) -> aioredis.Redis:
    """A client over its own ``JoinPathConnectionPool``; ``aclose()`` closes the pool."""
    pool = JoinPathConnectionPool.from_url(
        url,
        decode_responses=False,
        socket_timeout=None,
        socket_connect_timeout=2,
        max_connections=max_connections,
        health_check_interval=0,
    )
    return aioredis.Redis.from_pool(pool)


_SLOTS: weakref.WeakKeyDictionary[aioredis.ConnectionPool, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _batch_slots(pool: aioredis.ConnectionPool) -> asyncio.Semaphore:
    """One semaphore per pool, shared by every RawCommands over it."""
    slots = _SLOTS.get(pool)
    if slots is None:
        slots = _SLOTS[pool] = asyncio.Semaphore(max(1, pool.max_connections - 16))
    return slots


class RawCommands:
    """Batches of already-built commands over one connection of ``client``'s pool.

    Contract: at most ``max_connections - 16`` batches per pool are in flight, in
    all ``RawCommands`` over that pool together (more wait their turn; the 16
    stay for the pool's other commands, such as the relay list); ``run`` sends
    every command of the batch in one write and returns
    their replies in order (hiredis-parsed: ``bytes``, ``int``, ``None``, lists;
    no redis-py response callbacks). An error reply raises (``ResponseError``)
    and any failure drops the connection, so a half-read batch never leaves a
    connection out of step. A batch that fails with a connection error is sent
    once more on a fresh connection, as redis-py's default retry does: callers
    send only commands that may run twice (counters, reads, join.lua, which
    finds the seat it reserved the first time)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._pool = client.connection_pool
        # A batch waits for a free connection instead of failing: redis-py's
        # pool raises MaxConnectionsError when all are in use (an unpaced storm
        # of thousands of joins did exactly that). The wait is bounded by the
        # caller's timeout (JoinPolicy.redis_timeout_ms).
        self._slots = _batch_slots(self._pool)

    async def run(self, commands: Sequence[Sequence[EncodableT]]) -> list[Any]:
        async with self._slots:
            return await self._run(commands)

    async def _run(self, commands: Sequence[Sequence[EncodableT]]) -> list[Any]:
        for attempt in (0, 1):
            conn: aioredis.Connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
            try:
                await conn.send_packed_command(conn.pack_commands(commands), check_health=False)
                return [await conn.read_response() for _ in commands]
            except (RedisConnectionError, OSError):
                await conn.disconnect(nowait=True)
                if attempt:
                    raise
            except BaseException:
                await conn.disconnect(nowait=True)
                raise
            finally:
                await self._pool.release(conn)
        raise AssertionError("unreachable")

    async def script(
        self, script: AsyncScript, keys: Sequence[EncodableT], args: Sequence[EncodableT]
    ) -> Any:
        """``EVALSHA``; a server that lost its script cache gets ``SCRIPT LOAD``
        and the call again, in one batch."""
        call = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            [reply] = await self.run([call])
        except NoScriptError:
            [_, reply] = await self.run([("SCRIPT", "LOAD", script.script), call])
        return reply
