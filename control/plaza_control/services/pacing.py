"""Join pacing: two gates in front of every join of this process, so a crowd
rejoining at once (a relay died or drained) is spread out instead of queueing
behind one event loop.

1. Joins in flight: beyond ``max_in_flight`` (0 = unbounded) a join is refused
   with ``retry_after_ms`` = ``base + uniform(0, base)`` (``base`` =
   ``retry_after_seconds`` x 1000), in milliseconds (``reason = "in_flight"``).
2. The admission schedule (``rate_per_second`` > 0; ``JoinSchedule``): at most
   ``rate_per_second`` joins a second with a burst of ``burst``; a join beyond
   it is refused with its own future slot (``reason = "rate"``) or, past the
   horizon, ``horizon_ms`` (``reason = "horizon"``).

The in-flight gate is checked first: a join it refuses leaves the schedule
untouched. Every refusal is 503 ``overloaded``."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal

from plaza_control.errors import Unavailable
from plaza_control.services.join_schedule import Admitted, JoinSchedule
from plaza_control.settings import Settings

RefusalReason = Literal["in_flight", "rate", "horizon"]
REFUSAL_REASONS: tuple[RefusalReason, ...] = ("in_flight", "rate", "horizon")


class Overloaded(Unavailable):
    code = "overloaded"
    title = "Too many joins in progress"


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0


class JoinPacer:
    """Single event loop: no lock needed. ``refused`` counts every refusal;
    ``on_refused`` (the metrics) is told each one's reason."""

    def __init__(
        self,
        max_in_flight: int,
        retry_after_seconds: int,
        *,
        schedule: JoinSchedule | None = None,
        clock_ms: Callable[[], float] = monotonic_ms,
        on_refused: Callable[[RefusalReason], None] | None = None,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.retry_after_seconds = retry_after_seconds
        self.schedule = schedule
        self.clock_ms = clock_ms
        self.on_refused = on_refused
        self.in_flight = 0
        self.refused = 0

    @classmethod
    def from_settings(
        cls, s: Settings, on_refused: Callable[[RefusalReason], None] | None = None
    ) -> JoinPacer:
        schedule = None
        if s.join_rate_per_second > 0:
            schedule = JoinSchedule(
                s.join_rate_per_second, s.join_burst, s.join_schedule_horizon_ms
            )
        return cls(
            s.join_max_in_flight,
            s.join_retry_after_seconds,
            schedule=schedule,
            on_refused=on_refused,
        )

    def backlog_seconds(self) -> float:
        """How far ahead the schedule's last booked slot lies (0 without a schedule)."""
        if self.schedule is None:
            return 0.0
        return self.schedule.backlog_ms(self.clock_ms()) / 1000.0

    def pending_bookings(self) -> int:
        return 0 if self.schedule is None else self.schedule.pending()

    def retry_after_ms(self) -> int:
        """The in-flight gate's wait: base plus up to the same again, uniformly,
        in milliseconds, so clients refused at the same moment come back spread."""
        base = self.retry_after_seconds * 1000
        return base + random.randint(0, base)  # noqa: S311 - jitter, not secrecy

    def _refuse(self, reason: RefusalReason, retry_after_ms: int, detail: str) -> Overloaded:
        self.refused += 1
        if self.on_refused is not None:
            self.on_refused(reason)
        return Overloaded(detail, retry_after_ms=retry_after_ms, extra={"reason": reason})

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.max_in_flight and self.in_flight >= self.max_in_flight:
            raise self._refuse(
                "in_flight",
                self.retry_after_ms(),
                "too many joins in progress; retry after retry_after_ms",
            )
        if self.schedule is not None:
            decision = self.schedule.decide(self.clock_ms())
            if not isinstance(decision, Admitted):
                raise self._refuse(
                    decision.reason,
                    decision.retry_after_ms,
                    "joins are paced; retry after retry_after_ms (your slot)",
                )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
