"""Announcements and the commands sent to relays, with their acks
(``/v1/ops/announce``, ``/v1/ops/commands``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from plaza_ops import render
from plaza_ops.errors import ExitCode, OpsError
from plaza_ops.session import AllItems, Cursor, Limit, current, span


class Scope(StrEnum):
    room = "room"
    world = "world"
    everyone = "everyone"


class Ack(StrEnum):
    pending = "pending"
    ok = "ok"
    failed = "failed"
    expired = "expired"
    undeliverable = "undeliverable"


def announce(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="What players see.")],
    room: Annotated[str | None, typer.Option("--room", help="Only this room.")] = None,
    world: Annotated[str | None, typer.Option("--world", help="Only this world's rooms.")] = None,
) -> None:
    """Announce to one room (--room), one world (--world) or everyone (neither)."""
    if room and world:
        raise OpsError("give --room or --world, not both", ExitCode.USAGE)
    scope = Scope.room if room else Scope.world if world else Scope.everyone
    s = current(ctx)
    s.out.obj(s.client.announce(scope.value, text, room_id=room, world_id=world), render.SENT)


def commands(
    ctx: typer.Context,
    ack: Annotated[Ack | None, typer.Option("--ack", help="Only commands with this ack.")] = None,
    limit: Limit = 20,
    every: AllItems = False,
    cursor: Cursor = None,
) -> None:
    """Commands sent to relays, newest first, with their acks."""
    s = current(ctx)
    page = s.client.commands(span(limit, every, cursor), ack=None if ack is None else ack.value)
    s.out.page(page, render.COMMANDS)


def command(
    ctx: typer.Context, command_id: Annotated[str, typer.Argument(metavar="COMMAND_ID")]
) -> None:
    """One command: its ack, and every relay's answer (how many it affected)."""
    s = current(ctx)
    status = s.client.command(command_id)
    if s.out.json:
        s.out.emit_json(status)
        return
    s.out.fields(status, render.COMMAND)
    s.out.table(status.get("acks") or [], render.ACKS)


def register(app: typer.Typer) -> None:
    app.command()(announce)
    app.command()(commands)
    app.command()(command)
