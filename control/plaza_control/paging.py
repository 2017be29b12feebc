"""Opaque list cursors. Every list of the API answers ``{"items": [...], "next":
cursor | null}`` and takes ``?limit=`` and ``?cursor=``: ``next`` is passed back
unchanged as ``cursor`` for the following page, with the same filters. A cursor
is the list's own position (strings and integers) as base64url JSON; clients
must not build or parse one (its content may change), and one that does not
decode is ``InvalidInput`` (400)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Generic, TypeVar

import msgspec

from plaza_control.errors import InvalidInput

T = TypeVar("T")
Position = list[str | int]
#: What ``?cursor=`` accepts at the edge (pattern and length).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a list: ``items`` in the list's order, and ``next``, the cursor
    of the following page (pass it back as ``?cursor=``), null at the end."""

    items: list[T]
    next: str | None


def encode(*position: str | int) -> str:
    raw = msgspec.json.encode(list(position))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(cursor: str, *shape: type) -> Position:
    """The position in ``cursor``, checked against ``shape`` (its element types)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = msgspec.json.decode(raw, type=Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput("cursor is not one this API gave") from None
    if len(position) != len(shape) or not all(
        type(p) is t for p, t in zip(position, shape, strict=True)
    ):
        raise InvalidInput("cursor is not one this API gave")
    return position


def decode_str(cursor: str | None) -> str | None:
    return None if cursor is None else str(decode(cursor, str)[0])


def decode_int(cursor: str | None) -> int | None:
    return None if cursor is None else int(decode(cursor, int)[0])


def after_key(
    items: list[T], key: Callable[[T], str], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """One page of an in-memory list ordered by the string ``key``: the items
    after the cursor's key, at most ``limit``, and the next cursor."""
    after = decode_str(cursor)
    ordered = sorted((i for i in items if after is None or key(i) > after), key=key)
    page = ordered[:limit]
    return page, encode(key(page[-1])) if len(ordered) > limit else None
