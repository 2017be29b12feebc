"""Users and moderation: search, show, sessions, kick, mute, ban, bans
(``/v1/ops/users``, ``/v1/ops/bans``, ``/v1/ops/rooms/{room}/kick``)."""

from __future__ import annotations

from typing import Annotated

import typer

from plaza_ops import render
from plaza_ops.durations import parse_duration
from plaza_ops.session import AllItems, Cursor, Limit, Reason, current, span

UserArg = Annotated[str, typer.Argument(metavar="USER", help="A user id (u_...).")]


def _duration(help_text: str) -> object:
    return typer.Option(
        "--duration", "-d", parser=parse_duration, metavar="DURATION", help=help_text
    )


def users(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Display name prefix.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="A guest's device id.")] = None,
    identity: Annotated[
        str | None, typer.Option("--identity", help="An external identity, issuer|subject.")
    ] = None,
    limit: Limit = 100,
    every: AllItems = False,
    cursor: Cursor = None,
) -> None:
    """Users by id; search by display name prefix, device id or external identity."""
    s = current(ctx)
    page = s.client.users(span(limit, every, cursor), name=name, device=device, identity=identity)
    s.out.page(page, render.USERS)


def user(ctx: typer.Context, user_id: UserArg) -> None:
    """One user: name, kind, current room, ban."""
    s = current(ctx)
    s.out.obj(s.client.user(user_id), render.USER)


def sessions(
    ctx: typer.Context,
    user_id: UserArg,
    limit: Limit = 50,
    every: AllItems = False,
    cursor: Cursor = None,
) -> None:
    """A user's sessions (stays in rooms), newest first."""
    s = current(ctx)
    s.out.page(s.client.sessions(user_id, span(limit, every, cursor)), render.SESSIONS)


def kick(
    ctx: typer.Context,
    room_id: Annotated[str, typer.Argument(metavar="ROOM")],
    user_id: UserArg,
    reason: Reason,
) -> None:
    """Kick a user out of a room (the client is closed with 4107)."""
    s = current(ctx)
    s.out.obj(s.client.kick(room_id, user_id, reason), render.SENT)


def mute(
    ctx: typer.Context,
    user_id: UserArg,
    reason: Reason,
    room: Annotated[
        str | None, typer.Option("--room", help="Only in this room (default: everywhere).")
    ] = None,
    duration: Annotated[int, _duration("How long (0 = until unmuted).")] = 0,
) -> None:
    """Mute a user: their chat is refused."""
    s = current(ctx)
    s.out.obj(s.client.mute(user_id, reason, room_id=room, duration_seconds=duration), render.SENT)


def unmute(
    ctx: typer.Context,
    user_id: UserArg,
    room: Annotated[str | None, typer.Option("--room", help="The room of the mute.")] = None,
) -> None:
    """Lift a mute."""
    s = current(ctx)
    s.out.obj(s.client.unmute(user_id, room_id=room), render.SENT)


def ban(
    ctx: typer.Context,
    user_id: UserArg,
    reason: Reason,
    duration: Annotated[int, _duration("How long (0 = permanent).")] = 0,
) -> None:
    """Ban a user from signing in and joining; one in a room is kicked (4108)."""
    s = current(ctx)
    cmd = s.client.ban(user_id, reason, duration)
    if s.out.json:
        s.out.emit_json(cmd)
    elif cmd is None:
        s.out.console.print(f"{user_id}: banned (not in a room: no kick sent)", markup=False)
    else:
        s.out.console.print(f"{user_id}: banned; kicked from their room", markup=False)
        s.out.fields(cmd, render.SENT)


def unban(ctx: typer.Context, user_id: UserArg) -> None:
    """Lift a ban (exit 4 when the user is not banned)."""
    s = current(ctx)
    s.client.unban(user_id)
    if not s.out.json:
        s.out.console.print(f"{user_id}: unbanned", markup=False)


def bans(
    ctx: typer.Context,
    ended: Annotated[bool, typer.Option("--ended", help="Include bans that ended.")] = False,
    limit: Limit = 100,
    every: AllItems = False,
    cursor: Cursor = None,
) -> None:
    """Bans in force, by user id."""
    s = current(ctx)
    s.out.page(s.client.bans(span(limit, every, cursor), ended=ended), render.BANS)


def register(app: typer.Typer) -> None:
    app.command()(users)
    app.command()(user)
    app.command()(sessions)
    app.command()(kick)
    app.command()(mute)
    app.command()(unmute)
    app.command()(ban)
    app.command()(unban)
    app.command()(bans)
