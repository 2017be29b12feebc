"""The machine a benchmark ran on, for the reports it writes."""

from __future__ import annotations

import contextlib
from pathlib import Path


def cpu_model() -> str:
    """The first ``model name`` of /proc/cpuinfo, or ``unknown``."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"
