"""Every Lua script Plaza runs on Redis, loaded from this folder once per process.

Allocation scripts (``join``, ``seat_confirm``, ``seat_release``, ``room_release``,
``sweep``, ``undrain``, ``lifetimes_forget``) get ``_common.lua`` prepended; the Go
relay may load the same files (the concatenation is the script).
"""

from __future__ import annotations

from importlib import resources

ALLOCATION_SCRIPTS = (
    "join",
    "seat_confirm",
    "seat_release",
    "room_release",
    "sweep",
    "undrain",
    "lifetimes_forget",
)
STANDALONE_SCRIPTS: tuple[str, ...] = ()


def source(name: str) -> str:
    """The full text of script ``name`` as sent to Redis."""
    pkg = resources.files(__name__)
    body = (pkg / f"{name}.lua").read_text(encoding="utf-8")
    if name in ALLOCATION_SCRIPTS:
        return (pkg / "_common.lua").read_text(encoding="utf-8") + "\n" + body
    return body
