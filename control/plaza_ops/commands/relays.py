"""Relays: list, drain, undrain (``/v1/ops/relays``)."""

from __future__ import annotations

from typing import Annotated

import typer

from plaza_ops import render
from plaza_ops.durations import parse_duration
from plaza_ops.session import AllItems, Cursor, Limit, Reason, current, span


def relays(
    ctx: typer.Context, limit: Limit = 100, every: AllItems = False, cursor: Cursor = None
) -> None:
    """Live relays: state, incarnation (boot id), load against capacity, drain mark."""
    s = current(ctx)
    s.out.page(s.client.relays(span(limit, every, cursor)), render.RELAYS)


def drain(
    ctx: typer.Context,
    relay_id: Annotated[str, typer.Argument(metavar="RELAY")],
    reason: Reason,
    deadline: Annotated[
        int,
        typer.Option(
            "--deadline",
            parser=parse_duration,
            metavar="DURATION",
            help="How long the relay waits for its sessions before closing the rest.",
        ),
    ] = 300,
) -> None:
    """Drain a relay's current incarnation: no new rooms there, its sessions are
    told to move (admin)."""
    s = current(ctx)
    s.out.obj(s.client.drain(relay_id, reason, deadline), render.SENT)


def undrain(
    ctx: typer.Context,
    relay_id: Annotated[str, typer.Argument(metavar="RELAY")],
    reason: Reason,
) -> None:
    """Remove a relay's drain mark: rooms may be placed there again (admin)."""
    s = current(ctx)
    out = s.client.undrain(relay_id, reason)
    if s.out.json:
        s.out.emit_json(out)
    else:
        done = "undrained" if out.get("undrained") else "had no drain mark (nothing changed)"
        s.out.console.print(f"{out.get('relay_id', relay_id)}: {done}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(relays)
    app.command()(drain)
    app.command()(undrain)
