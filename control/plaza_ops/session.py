"""What every command shares: the connection settings given once on the command
line (``--url``, ``--key``, ``--json``, ``--timeout``), the client made from
them on first use, and the options every list takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer

from plaza_ops.client import OpsClient, Span
from plaza_ops.render import Out


@dataclass
class Session:
    url: str
    #: Sent in the ``X-API-Key`` header only; never printed or logged.
    key: str = field(repr=False)
    timeout: float
    out: Out
    _client: OpsClient | None = field(default=None, repr=False)

    @property
    def client(self) -> OpsClient:
        if self._client is None:
            self._client = OpsClient(self.url, self.key, timeout=self.timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def current(ctx: typer.Context) -> Session:
    session = ctx.find_object(Session)
    if session is None:  # only when a command is called without the app's callback
        raise RuntimeError("plaza-ops: no session (the app callback did not run)")
    return session


# The options of every list: ``--limit`` items (following pages), or ``--all``.
Limit = Annotated[
    int,
    typer.Option("--limit", min=1, help="At most this many items (pages are followed)."),
]
AllItems = Annotated[bool, typer.Option("--all", help="Every item: follow every page.")]
Cursor = Annotated[
    str | None,
    typer.Option("--cursor", help="Start at this cursor (a list's `next`)."),
]


def span(limit: int, every: bool, cursor: str | None) -> Span:
    return Span(limit=None if every else limit, cursor=cursor)


Reason = Annotated[
    str,
    typer.Option("--reason", "-r", help="Why (required; kept in the audit log)."),
]
