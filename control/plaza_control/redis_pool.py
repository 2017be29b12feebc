"""The join path's Redis client: its own pool, tuned for many short requests.

- No per-read socket timeout and no health-check ``PING``: redis-py wraps every
  reply read in an ``asyncio.timeout`` (a pipeline of seven commands reads seven
  replies) and checks the clock before every command. The join service bounds a
  whole join once instead (``JoinPolicy.redis_timeout_ms``); a dead connection
  still fails its command and redis-py's retry reconnects.
- ``get_connection`` without redis-py 8's deprecated-arguments wrapper, which
  inspects the call's arguments on every command and pipeline (Plaza never
  passes the deprecated ones).

Each cut was measured with ``scripts/bench_join.py`` (docs/control-benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

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
