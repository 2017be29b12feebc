"""The audit log: filtered pages, and ``--follow`` to tail it (``/v1/ops/audit``,
admin)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from plaza_ops import render
from plaza_ops.client import OpsClient, Span
from plaza_ops.durations import parse_time_ms
from plaza_ops.session import AllItems, Cursor, Limit, current, span


def audit(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option("--actor", help="A key's id or name.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. user.ban.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="A target prefix.")] = None,
    since: Annotated[
        int | None,
        typer.Option(
            "--since",
            parser=parse_time_ms,
            metavar="TIME",
            help="From this time on: unix ms, ISO 8601, or a duration ago (15m).",
        ),
    ] = None,
    until: Annotated[
        int | None,
        typer.Option(
            "--until", parser=parse_time_ms, metavar="TIME", help="Before this time (as --since)."
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Print the last --limit entries, then new ones as they come."
        ),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between polls (--follow).")
    ] = 2.0,
    limit: Limit = 20,
    every: AllItems = False,
    cursor: Cursor = None,
) -> None:
    """Every operator action, newest first: actor name, action, target, HTTP
    status, reason, duration, request id. With --follow: oldest first, forever
    (Ctrl-C stops it); --json then prints one JSON object per line."""
    s = current(ctx)
    where: dict[str, Any] = {"actor": actor, "action": action, "target": target}
    if not follow:
        page = s.client.audit(span(limit, every, cursor), since_ms=since, until_ms=until, **where)
        s.out.page(page, render.AUDIT)
        return
    try:
        _follow(s.client, s.out, where, since, limit, interval)
    except KeyboardInterrupt:
        return


def _follow(
    client: OpsClient,
    out: render.Out,
    where: dict[str, Any],
    since: int | None,
    limit: int,
    interval: float,
) -> None:
    """Poll for entries at or after the newest time seen; print the unseen ones
    in time order. Entries of one millisecond are told apart by id."""
    first = client.audit(Span(limit=limit), since_ms=since, **where)["items"]
    seen: set[str] = set()
    newest = since or 0
    while True:
        fresh = sorted(
            (e for e in first if e["id"] not in seen), key=lambda e: (e["at_ms"], e["id"])
        )
        for entry in fresh:
            if out.json:
                out.line(entry)
            else:
                out.console.print(render.audit_line(entry), markup=False)
        if fresh:
            top = max(e["at_ms"] for e in fresh)
            if top > newest:
                seen = {e["id"] for e in fresh if e["at_ms"] == top}
                newest = top
            else:
                seen |= {e["id"] for e in fresh}
        time.sleep(interval)
        first = client.audit(Span(limit=None), since_ms=newest, **where)["items"]


def register(app: typer.Typer) -> None:
    app.command()(audit)
