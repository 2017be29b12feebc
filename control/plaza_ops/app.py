"""The ``plaza-ops`` command line: global options, the error-to-exit-code rule,
and the commands of each area (``plaza_ops.commands``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from plaza_ops.client import DEFAULT_URL
from plaza_ops.commands import audit, broadcast, keys, relays, rooms, users, worlds
from plaza_ops.errors import OpsError
from plaza_ops.render import Out
from plaza_ops.session import Session


class OpsGroup(TyperGroup):
    """Turns every ``OpsError`` of a command into its one line on stderr and its
    exit code; the traceback is never shown (it could hold the key)."""

    # ``ctx`` is typer's (vendored) click Context; Any keeps the override exact.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except OpsError as exc:
            typer.echo(f"plaza-ops: {exc.message}", err=True)
            raise typer.Exit(int(exc.code)) from None


app = typer.Typer(
    cls=OpsGroup,
    name="plaza-ops",
    help="Operate Plaza through its ops API (/v1/ops): relays, rooms, users, "
    "moderation, commands, audit, API keys, worlds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _options(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Option("--url", envvar="PLAZA_OPS_URL", help="The control plane's base URL."),
    ] = DEFAULT_URL,
    key: Annotated[
        str,
        typer.Option(
            "--key",
            envvar="PLAZA_OPS_KEY",
            help="The operator API key (prefer the environment variable).",
            show_default=False,
        ),
    ] = "",
    json_mode: Annotated[
        bool,
        typer.Option("--json", help="Print the API's JSON instead of tables."),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Seconds to wait for each answer."),
    ] = 10.0,
) -> None:
    session = Session(url=url, key=key, timeout=timeout, out=Out(json_mode))
    ctx.obj = session
    ctx.call_on_close(session.close)


for area in (relays, rooms, users, broadcast, audit):
    area.register(app)
app.add_typer(keys.app, name="keys")
app.add_typer(worlds.app, name="worlds")
