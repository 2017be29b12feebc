"""The join admission schedule: a pure policy (no I/O, no clock of its own; every
call is given the time in milliseconds of a monotonic clock).

Admission is a GCRA (generic cell rate algorithm, the virtual-scheduling form of
a token bucket) over the times joins are *admitted*: one cell every
``interval = 1000 / rate`` ms, a burst of ``burst`` joins at once
(``tau = (burst - 1) * interval``). A join at ``now`` conforms when
``now >= tat - tau`` (``tat``: the theoretical arrival time of the next cell);
admitting it sets ``tat = max(tat, now) + interval``. So over any window of
``w`` ms at most ``burst + floor(w * rate / 1000)`` joins are admitted, whatever
else happens below.

A refused join is *booked*: handed the next free slot, ``slot = max(tail,
tat - tau)``, after which ``tail = slot + interval``. Slots are distinct and
``interval`` apart, so a crowd refused at once is told to come back spread
evenly at the rate. A slot further than ``horizon_ms`` ahead is not handed out:
that join is refused with ``retry_after_ms = horizon_ms`` and booked nothing
(``reason = "horizon"``).

Bookings are anonymous (the join route names no client to the pacer). When a
join arrives:

1. Bookings whose slot is more than ``grace_ms`` in the past are forfeited
   (their client did not come back).
2. If a booking is due (``slot <= now``), the join is taken for a returning
   client: admitted if it conforms (the booking is used up), else booked again
   at the tail (``reason = "rate"``). Any join arriving while a booking is due
   takes it: a fresh arrival that comes first uses a returner's booking, and
   that returner, finding none due, is handled as fresh (step 3) — booked at
   the end of the schedule with a new slot, never refused without one.
3. Otherwise the join is fresh: while bookings are pending (all in the future)
   it is booked behind them (first come, first served; ``reason = "rate"``);
   with none pending it is admitted if it conforms, else booked.

A returner that waits its hint plus up to ``J`` ms of jitter arrives in
``[slot, slot + J]``: with ``burst >= J * rate / 1000 + 1`` all of them conform
(a window of ``w`` ms then holds at most ``(w + J) * rate / 1000 + 1`` of them).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

#: How long after its slot a booking stays redeemable.
DEFAULT_GRACE_MS = 1000.0

#: Rounding slack of the conformance test (a nanosecond).
EPSILON_MS = 1e-6

Reason = Literal["rate", "horizon"]


@dataclass(frozen=True, slots=True)
class Admitted:
    """The join may go ahead. ``booked``: it used a due booking."""

    booked: bool


@dataclass(frozen=True, slots=True)
class Refused:
    """Come back in ``retry_after_ms`` (>= 1). ``slot_ms``: the booked slot
    (``None`` when refused at the horizon, nothing booked)."""

    retry_after_ms: int
    reason: Reason
    slot_ms: float | None


Decision = Admitted | Refused


class JoinSchedule:
    """One process's admission schedule. Not thread-safe (one event loop)."""

    def __init__(
        self,
        rate_per_second: int,
        burst: int,
        horizon_ms: int,
        grace_ms: float = DEFAULT_GRACE_MS,
    ) -> None:
        if rate_per_second < 1:
            raise ValueError("rate_per_second must be >= 1 (0 means no schedule: build none)")
        if burst < 1:
            raise ValueError("burst must be >= 1")
        if horizon_ms < 1:
            raise ValueError("horizon_ms must be >= 1")
        if grace_ms < 0:
            raise ValueError("grace_ms must be >= 0")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.horizon_ms = horizon_ms
        self.grace_ms = grace_ms
        self.interval_ms = 1000.0 / rate_per_second
        self.tau_ms = (burst - 1) * self.interval_ms
        self._tat = -math.inf
        self._tail = -math.inf
        self._bookings: deque[float] = deque()
        #: Bookings dropped because no join came within the grace.
        self.forfeited = 0

    def backlog_ms(self, now_ms: float) -> float:
        """How far ahead the last booked slot lies (0: nothing booked ahead)."""
        if not self._bookings:
            return 0.0
        return max(0.0, self._bookings[-1] - now_ms)

    def pending(self) -> int:
        """Bookings not yet used or forfeited."""
        return len(self._bookings)

    def _conforms(self, now_ms: float) -> bool:
        # EPSILON_MS: slots and tat are sums of the same float interval taken in
        # different orders; a returner exactly at its slot must not lose to rounding.
        return now_ms + EPSILON_MS >= self._tat - self.tau_ms

    def _admit(self, now_ms: float) -> None:
        self._tat = max(self._tat, now_ms) + self.interval_ms

    def _book(self, now_ms: float) -> Refused:
        # Always in the future: a join is booked only when it does not conform
        # (tat - tau > now) or bookings are pending (tail > the first > now).
        slot = max(self._tail, self._tat - self.tau_ms)
        wait = slot - now_ms
        if wait > self.horizon_ms:
            return Refused(self.horizon_ms, "horizon", None)
        self._tail = slot + self.interval_ms
        self._bookings.append(slot)
        return Refused(max(1, math.ceil(wait)), "rate", slot)

    def decide(self, now_ms: float) -> Decision:
        """Admit or refuse one join arriving at ``now_ms`` (non-decreasing across calls)."""
        bookings = self._bookings
        while bookings and bookings[0] + self.grace_ms < now_ms:
            bookings.popleft()
            self.forfeited += 1
        if bookings and bookings[0] <= now_ms:
            if self._conforms(now_ms):
                bookings.popleft()
                self._admit(now_ms)
                return Admitted(booked=True)
            return self._book(now_ms)
        if not bookings and self._conforms(now_ms):
            self._admit(now_ms)
            return Admitted(booked=False)
        return self._book(now_ms)
