"""Rooms: list with filters, members, saved state, close (``/v1/ops/rooms``)."""

from __future__ import annotations

from typing import Annotated

import typer

from plaza_ops import render
from plaza_ops.session import AllItems, Cursor, Limit, Reason, current, span

RoomArg = Annotated[str, typer.Argument(metavar="ROOM")]


def rooms(
    ctx: typer.Context,
    world: Annotated[str | None, typer.Option("--world", help="Only this world's rooms.")] = None,
    relay: Annotated[str | None, typer.Option("--relay", help="Only rooms on this relay.")] = None,
    min_members: Annotated[
        int | None, typer.Option("--min-members", min=0, help="At least this many members.")
    ] = None,
    max_members: Annotated[
        int | None, typer.Option("--max-members", min=0, help="At most this many members.")
    ] = None,
    limit: Limit = 100,
    every: AllItems = False,
    cursor: Cursor = None,
) -> None:
    """Open rooms by id: world, relay, members (seats), lifetime."""
    s = current(ctx)
    page = s.client.rooms(
        span(limit, every, cursor),
        world=world,
        relay=relay,
        min_members=min_members,
        max_members=max_members,
    )
    s.out.page(page, render.ROOMS)


def members(
    ctx: typer.Context,
    room_id: RoomArg,
    limit: Limit = 100,
    every: AllItems = False,
    cursor: Cursor = None,
) -> None:
    """Members of an open room: user, display name, session, joined at."""
    s = current(ctx)
    s.out.page(s.client.members(room_id, span(limit, every, cursor)), render.MEMBERS)


def state(ctx: typer.Context, room_id: RoomArg) -> None:
    """A room's saved state: keys with versions and sizes, sequence, lifetime."""
    s = current(ctx)
    snap = s.client.room_state(room_id)
    if s.out.json:
        s.out.emit_json(snap)
        return
    s.out.fields(snap, render.ROOM_STATE)
    s.out.table(snap.get("keys") or [], render.STATE_KEYS)


def close(ctx: typer.Context, room_id: RoomArg, reason: Reason) -> None:
    """Close a room: its members are disconnected, new joins get a fresh room."""
    s = current(ctx)
    s.out.obj(s.client.close_room(room_id, reason), render.SENT)


def register(app: typer.Typer) -> None:
    app.command()(rooms)
    app.command()(members)
    app.command()(state)
    app.command()(close)
