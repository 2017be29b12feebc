"""Join pacing: a process refuses joins beyond a bound of joins in flight, with a
jittered ``Retry-After``, so a crowd rejoining at once (a relay died or drained)
spreads itself out instead of queueing behind one event loop."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from plaza_control.errors import Unavailable


class Overloaded(Unavailable):
    code = "overloaded"
    title = "Too many joins in progress"


class JoinPacer:
    """``max_in_flight`` 0: unbounded. Single event loop: no lock needed."""

    def __init__(self, max_in_flight: int, retry_after_seconds: int) -> None:
        self.max_in_flight = max_in_flight
        self.retry_after_seconds = retry_after_seconds
        self.in_flight = 0
        self.refused = 0

    def retry_after(self) -> int:
        """Base plus up to the same again, uniformly: clients told to wait at the
        same moment come back spread over a window."""
        base = self.retry_after_seconds
        return base + random.randint(0, base)  # noqa: S311 - jitter, not secrecy

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.max_in_flight and self.in_flight >= self.max_in_flight:
            self.refused += 1
            raise Overloaded(
                "too many joins in progress; retry after the given delay with jitter",
                retry_after=self.retry_after(),
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
