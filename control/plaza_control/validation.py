"""Input rules shared by the HTTP edge and the services."""

from __future__ import annotations

import re
import unicodedata

from plaza_control.errors import InvalidInput

#: Ids end up in Redis key names and channel names: no ':', '{', '}', spaces.
WORLD_ID = r"^[a-z0-9][a-z0-9_-]{0,31}$"
ROOM_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
RELAY_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
USER_ID = r"^u_[a-z0-9]{20}$"
REGION = r"^[a-z0-9][a-z0-9-]{0,31}$"
DEVICE_ID = r"^[A-Za-z0-9_-]{16,128}$"
COMMAND_ID = r"^[0-9a-f-]{36}$"

DISPLAY_NAME_MIN = 2
DISPLAY_NAME_MAX = 32
#: Unicode general categories a display name may use (letters, marks, numbers,
#: connector/dash punctuation, the ordinary space). Controls, format characters
#: (bidi overrides, zero-width joiners), surrogates, private use and unassigned
#: code points are refused.
_NAME_CATEGORIES = frozenset(
    {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd", "Nl", "No", "Pc", "Pd"}
)
_NAME_EXTRA = frozenset(" .'")
_NAME_MAX_MARKS_IN_A_ROW = 2


def display_name(raw: str) -> str:
    """Return the NFC form of a valid display name or raise ``InvalidInput``."""
    name = unicodedata.normalize("NFC", raw)
    if not DISPLAY_NAME_MIN <= len(name) <= DISPLAY_NAME_MAX:
        raise InvalidInput(
            f"display name must be {DISPLAY_NAME_MIN}-{DISPLAY_NAME_MAX} characters",
            extra={"field": "display_name"},
        )
    if name != name.strip() or "  " in name:
        raise InvalidInput(
            "display name has leading, trailing or repeated spaces", extra={"field": "display_name"}
        )
    marks = 0
    for ch in name:
        cat = unicodedata.category(ch)
        if ch not in _NAME_EXTRA and cat not in _NAME_CATEGORIES:
            raise InvalidInput(
                f"display name contains a disallowed character U+{ord(ch):04X}",
                extra={"field": "display_name"},
            )
        marks = marks + 1 if cat.startswith("M") else 0
        if marks > _NAME_MAX_MARKS_IN_A_ROW:
            raise InvalidInput(
                "display name stacks too many marks", extra={"field": "display_name"}
            )
    if unicodedata.category(name[0]).startswith("M"):
        raise InvalidInput("display name starts with a mark", extra={"field": "display_name"})
    return name


def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern[1:-1], value) is not None
