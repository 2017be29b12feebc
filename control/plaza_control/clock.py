"""Time, injected so services are testable."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def system_clock_ms() -> int:
    return time.time_ns() // 1_000_000
