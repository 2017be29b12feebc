"""World templates: list and show (``/v1/ops/worlds``)."""

from __future__ import annotations

from typing import Annotated

import typer

from plaza_ops import render
from plaza_ops.session import AllItems, Cursor, Limit, current, span

app = typer.Typer(help="World templates: list, show.", no_args_is_help=True)

WORLD = [
    render.field("id", "world"),
    render.field("name", "name"),
    render.field("version", "version"),
    render.when("created_at_ms", "created"),
    render.when("updated_at_ms", "updated"),
]


@app.command("list")
def list_worlds(
    ctx: typer.Context, limit: Limit = 100, every: AllItems = False, cursor: Cursor = None
) -> None:
    """All worlds by id: name, version, room capacity, tick rate."""
    s = current(ctx)
    s.out.page(s.client.worlds(span(limit, every, cursor)), render.WORLDS)


@app.command()
def show(ctx: typer.Context, world_id: Annotated[str, typer.Argument(metavar="WORLD")]) -> None:
    """One world with its settings."""
    s = current(ctx)
    world = s.client.world(world_id)
    if s.out.json:
        s.out.emit_json(world)
        return
    s.out.fields(world, WORLD)
    settings = world.get("settings") or {}
    s.out.fields(settings, [render.field(k, k) for k in sorted(settings)])
