"""How answers are shown: ``--json`` prints the API's JSON (same fields and
values, indented); otherwise a table per concept (rich), with times in UTC.

A table is a list of ``Column``s, each naming its header and how a cell is
read from one item of the API's answer; unknown or missing fields show ``-``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from plaza_ops.durations import format_ms, format_seconds

Item = dict[str, Any]
#: Columns of output that is not a terminal.
PIPED_WIDTH = 4096


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[Item], object]


def field(name: str, header: str | None = None) -> Column:
    return Column(header or name.upper(), lambda i: i.get(name))


def when(name: str, header: str) -> Column:
    return Column(header, lambda i: format_ms(int(i.get(name) or 0)))


def text(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


class Out:
    """Where a command writes: stdout for answers, stderr for notes. ``json``
    selects the JSON form of every answer."""

    def __init__(self, json_mode: bool) -> None:
        self.json = json_mode
        # Piped output is never folded (one row per line, for grep and awk);
        # on a terminal, rich fits the table to its width.
        width = None if sys.stdout.isatty() else PIPED_WIDTH
        self.console = Console(width=width, soft_wrap=False, highlight=False)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)

    def emit_json(self, data: object) -> None:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def line(self, data: object) -> None:
        """One JSON value on one line (``--follow`` streams, JSON Lines)."""
        sys.stdout.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def note(self, message: str) -> None:
        self.errors.print(message, markup=False)

    def page(self, page: Item, columns: Sequence[Column], title: str = "") -> None:
        """A list answer: the JSON object, or its items as a table and a note on
        stderr when the list goes on."""
        if self.json:
            self.emit_json(page)
            return
        self.table(page["items"], columns, title)
        if page.get("next"):
            self.note(f"more: pass --all, or --cursor {page['next']}")

    def table(self, items: Sequence[Item], columns: Sequence[Column], title: str = "") -> None:
        table = Table(title=title or None, box=None, header_style="bold", pad_edge=False)
        for c in columns:
            table.add_column(c.header, overflow="fold")
        for item in items:
            table.add_row(*(text(c.cell(item)) for c in columns))
        self.console.print(table)

    def fields(self, item: Item, rows: Sequence[Column]) -> None:
        """One object as ``name  value`` lines."""
        table = Table(show_header=False, show_edge=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for r in rows:
            table.add_row(r.header, text(r.cell(item)))
        self.console.print(table)

    def obj(self, item: Item, rows: Sequence[Column]) -> None:
        if self.json:
            self.emit_json(item)
        else:
            self.fields(item, rows)


# --- the columns of each concept ---------------------------------------------


def _load(i: Item) -> str:
    return f"{i.get('connections', 0)}/{i.get('capacity_connections', 0)}"


def _drain(i: Item) -> str:
    if not i.get("drain_requested"):
        return "no"
    boot = i.get("drain_boot_id") or ""
    return f"yes (boot {boot})" if boot else "yes"


RELAYS = [
    field("relay_id", "RELAY"),
    field("state"),
    field("boot_id", "BOOT"),
    Column("CONNS/CAP", _load),
    field("rooms"),
    field("seats"),
    field("cpu_percent", "CPU%"),
    Column("DRAIN", _drain),
    field("region"),
    field("build"),
]
ROOMS = [
    field("room_id", "ROOM"),
    field("world_id", "WORLD"),
    field("relay_id", "RELAY"),
    field("seats", "MEMBERS"),
    field("lifetime"),
    when("created_at_ms", "CREATED"),
]
MEMBERS = [
    field("user_id", "USER"),
    field("display_name", "NAME"),
    field("session_id", "SESSION"),
    field("confirmed"),
    when("joined_at_ms", "JOINED"),
]
STATE_KEYS = [
    field("key"),
    field("version"),
    field("value_bytes", "BYTES"),
    field("updated_by", "BY MEMBER"),
]
ROOM_STATE = [
    field("room_id", "room"),
    field("world_id", "world"),
    field("relay_id", "relay"),
    field("room_lifetime", "lifetime"),
    field("sequence", "sequence"),
    when("saved_at_ms", "saved"),
    Column("keys", lambda i: len(i.get("keys") or [])),
]
USERS = [
    field("id", "USER"),
    field("display_name", "NAME"),
    field("kind"),
    when("created_at_ms", "CREATED"),
]


def _ban_line(ban: Item | None) -> str:
    if not ban:
        return "-"
    until = format_ms(int(ban.get("until_ms") or 0))
    return (
        f"{ban.get('reason', '')} (until {'ever' if until == '-' else until}, by {ban.get('by')})"
    )


USER = [
    Column("id", lambda i: i["user"].get("id")),
    Column("name", lambda i: i["user"].get("display_name")),
    Column("kind", lambda i: i["user"].get("kind")),
    Column("created", lambda i: format_ms(int(i["user"].get("created_at_ms") or 0))),
    field("room_id", "room"),
    Column("ban", lambda i: _ban_line(i.get("ban"))),
]
SESSIONS = [
    field("id", "SESSION"),
    field("room_id", "ROOM"),
    field("relay_id", "RELAY"),
    field("status"),
    when("joined_at_ms", "JOINED"),
    when("left_at_ms", "LEFT"),
    field("leave_reason", "REASON"),
]
BANS = [
    field("user_id", "USER"),
    field("reason"),
    Column("UNTIL", lambda i: format_ms(int(i["until_ms"])) if i.get("until_ms") else "permanent"),
    field("by", "BY KEY"),
    when("at_ms", "AT"),
]
#: The command an action sent (its answer, 202).
SENT = [
    field("command_id", "command"),
    field("kind", "kind"),
    Column("target", lambda i: i.get("target_relay_id") or "(all relays)"),
    field("ack", "ack"),
    field("receivers", "receivers"),
]
COMMANDS = [
    field("command_id", "COMMAND"),
    when("at_ms", "AT"),
    field("kind"),
    Column("TARGET", lambda i: i.get("target_relay_id") or "(all)"),
    field("ack"),
    field("receivers"),
    Column("ACKED", lambda i: f"{i.get('relays_acked', 0)} ({i.get('relays_failed', 0)} failed)"),
    field("affected"),
]
COMMAND = [
    field("command_id", "command"),
    when("at_ms", "sent"),
    field("issued_by", "issued by"),
    field("kind", "kind"),
    Column("target", lambda i: i.get("target_relay_id") or "(all relays)"),
    field("ack", "ack"),
    field("ack_detail", "ack detail"),
    when("acked_at_ms", "acked"),
    when("deadline_ms", "deadline"),
    field("receivers", "receivers"),
    field("affected", "affected"),
]
ACKS = [
    field("relay_id", "RELAY"),
    field("ok"),
    field("detail"),
    field("affected"),
    when("at_ms", "AT"),
]
AUDIT = [
    when("at_ms", "AT"),
    Column("ACTOR", lambda i: i.get("actor_name") or i.get("actor")),
    field("action"),
    field("target"),
    field("status"),
    field("reason"),
    Column("DURATION", lambda i: format_seconds(i.get("duration_seconds"))),
    field("detail"),
    field("request_id", "REQUEST"),
]


def audit_line(entry: Item) -> str:
    """One audit entry on one line (``audit --follow``), in the AUDIT columns' order."""
    return "  ".join(text(c.cell(entry)) for c in AUDIT)


KEYS = [
    field("id", "KEY ID"),
    field("name"),
    field("role"),
    when("created_at_ms", "CREATED"),
    when("last_used_at_ms", "LAST USED"),
    field("revoked"),
]
WORLDS = [
    field("id", "WORLD"),
    field("name"),
    field("version"),
    Column("CAPACITY", lambda i: (i.get("settings") or {}).get("room_capacity")),
    Column("TICK HZ", lambda i: (i.get("settings") or {}).get("tick_rate_hz")),
    when("updated_at_ms", "UPDATED"),
]
