"""Operator API keys: create, list, revoke (``/v1/ops/keys``, admin)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from plaza_ops import render
from plaza_ops.session import AllItems, Cursor, Limit, current, span

app = typer.Typer(help="Operator API keys: create, list, revoke (admin).", no_args_is_help=True)


class Role(StrEnum):
    viewer = "viewer"
    moderator = "moderator"
    admin = "admin"


@app.command("list")
def list_keys(
    ctx: typer.Context, limit: Limit = 100, every: AllItems = False, cursor: Cursor = None
) -> None:
    """API keys, oldest first (never a key or its hash)."""
    s = current(ctx)
    s.out.page(s.client.keys(span(limit, every, cursor)), render.KEYS)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Who or what holds the key.")],
    role: Annotated[Role, typer.Option("--role", help="What it may do.")],
) -> None:
    """Create a key. It is printed this once (stdout, last line); store it now."""
    s = current(ctx)
    created = s.client.create_key(name, role.value)
    if s.out.json:
        s.out.emit_json(created)
        return
    s.out.fields(created, render.KEYS)
    s.out.note("the key is shown this once; only its hash is stored")
    s.out.console.print(str(created.get("key", "")), markup=False, highlight=False)


@app.command()
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="12 hex digits (pk_<id>_...).")],
) -> None:
    """Revoke a key: every control plane refuses it from its next request (idempotent)."""
    s = current(ctx)
    s.client.revoke_key(key_id)
    if not s.out.json:
        s.out.console.print(f"{key_id}: revoked", markup=False)
