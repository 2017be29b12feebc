"""``python -m plaza_control`` / ``plaza-control``: serve and admin commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from plaza_control.errors import PlazaError
from plaza_control.models import ApiKey, Role
from plaza_control.settings import Settings

FACTORY = "plaza_control.asgi:app_from_env"


def _serve(settings: Settings) -> int:
    if settings.server == "granian":
        from granian.constants import Interfaces, Loops
        from granian.server import Server

        Server(
            FACTORY,
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=settings.workers,
            loop=Loops.auto,
            factory=True,
            log_access=False,
        ).serve()
        return 0
    import uvicorn

    from plaza_control.observability import uvicorn_log_config

    uvicorn.run(
        FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings.log_level),
        lifespan="on",
        server_header=False,
    )
    return 0


#: The actor of CLI changes in the audit log.
_CLI_ACTOR = ApiKey(id="system", name="cli", role=Role.ADMIN, hash="", created_at_ms=0)


async def _with_services(settings: Settings, what: str, args: argparse.Namespace) -> int:
    from plaza_control.container import Services
    from plaza_control.models import WorldSettings
    from plaza_control.observability import Metrics

    svc = Services(settings, Metrics())
    try:
        await svc.start()
        if what == "create-api-key":
            key, record = await svc.api_keys.create(Role(args.role), args.name)
            print(key)  # the only time the key is shown
            print(f"id={record.id} role={record.role.value} name={record.name}", file=sys.stderr)
        elif what == "list-api-keys":
            for k in await svc.api_keys.all():
                state = "revoked" if k.revoked else "active"
                print(
                    f"{k.id}\t{k.role.value}\t{state}\tcreated_ms={k.created_at_ms}"
                    f"\tlast_used_ms={k.last_used_at_ms}\t{k.name}"
                )
        elif what == "revoke-api-key":
            await svc.api_keys.revoke(_CLI_ACTOR, args.id)
            print(f"revoked {args.id}", file=sys.stderr)
        elif what == "create-world":
            system = _CLI_ACTOR
            ws = WorldSettings(room_capacity=args.capacity, tick_rate_hz=args.tick_rate)
            try:
                world = await svc.worlds.create(system, args.id, args.name or args.id, ws)
            except PlazaError as exc:
                if not args.exist_ok or exc.status != 409:
                    raise
                world = await svc.worlds.get(args.id)
            print(msgspec.json.encode(world).decode())
    finally:
        await svc.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plaza-control", description="Plaza control plane")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve HTTP (server and port from PLAZA_SERVER, PLAZA_PORT)")
    k = sub.add_parser("create-api-key", help="create an operator API key and print it once")
    k.add_argument("--role", required=True, choices=["viewer", "moderator", "admin"])
    k.add_argument("--name", required=True)
    sub.add_parser("list-api-keys", help="list API keys (id, role, state, created, last used)")
    r = sub.add_parser("revoke-api-key", help="revoke an API key by its id (audited)")
    r.add_argument("--id", required=True, help="the 12 hex digits after pk_")
    for name, text in (
        ("gen-signing-key", "create the first ticket signing key (no-op if one exists)"),
        ("rotate-signing-key", "create a new ticket signing key; the old stays published"),
    ):
        g = sub.add_parser(name, help=text)
        g.add_argument("--key-dir", default=None, help="default: PLAZA_KEY_DIR")
    w = sub.add_parser("create-world", help="create a world with default settings")
    w.add_argument("--id", required=True)
    w.add_argument("--name", default="")
    w.add_argument("--capacity", type=int, default=50)
    w.add_argument("--tick-rate", type=int, default=20)
    w.add_argument("--exist-ok", action="store_true")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
        if args.command == "serve":
            return _serve(settings)
        if args.command in ("gen-signing-key", "rotate-signing-key"):
            from plaza_control import signing_keys

            key_dir = Path(args.key_dir or settings.key_dir)
            existing = signing_keys.load_dir(key_dir)
            if args.command == "gen-signing-key" and existing:
                print(existing[0].kid)
                return 0
            kid = signing_keys.generate_key_file(key_dir)
            signing_keys.session_secret(key_dir, settings.session_secret)
            print(kid)
            return 0
        return asyncio.run(_with_services(settings, args.command, args))
    except PlazaError as exc:
        print(f"plaza-control: {exc.detail}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
