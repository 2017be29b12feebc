"""Health, readiness, metrics and the JWKS."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from plaza_control import placement
from plaza_control.container import Services
from plaza_control.routes.bodies import Health, Readiness
from plaza_control.routes.deps import services


@get("/healthz", tags=["system"], summary="Liveness: the process serves requests")
async def healthz() -> Health:
    return Health("ok")


@get("/readyz", tags=["system"], summary="Readiness: MongoDB and Redis answer")
async def readyz(state: State) -> Response[Readiness]:
    """503 when Redis or MongoDB does not answer. ``placeable_relays`` (relays that
    can take a new room) is reported, not judged: failing readiness on it would
    deadlock a fresh cluster whose relays need this process for their keys
    (decisions/009); the gauge ``plaza_control_placeable_relays`` alerts on it."""
    svc: Services = services(state)

    async def placeable() -> int:
        try:
            relays = await asyncio.wait_for(svc.allocator.relays(), timeout=2.0)
        except Exception:
            return -1
        n = placement.placeable(relays)
        svc.metrics.placeable_relays.set(n)
        return n

    async def check(coro: object) -> str:
        try:
            await asyncio.wait_for(coro, timeout=2.0)  # type: ignore[arg-type]
        except Exception as exc:
            return f"fail: {type(exc).__name__}"
        return "ok"

    redis_status, mongo_status, relays = await asyncio.gather(
        check(svc.redis.ping()), check(svc.mongo.admin.command("ping")), placeable()
    )
    checks = {"redis": redis_status, "mongodb": mongo_status}
    ok = all(v == "ok" for v in checks.values())
    body = Readiness("ok" if ok else "unavailable", checks, placeable_relays=relays)
    return Response(body, status_code=200 if ok else 503)


@get("/metrics", tags=["system"], summary="Prometheus metrics", include_in_schema=False)
async def metrics(state: State) -> Response[bytes]:
    svc = services(state)
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@get("/.well-known/jwks.json", tags=["system"], summary="Public keys of join tickets")
async def jwks(state: State) -> Response[bytes]:
    ring = services(state).key_ring()
    return Response(
        ring.jwks_json, media_type="application/json", headers={"Cache-Control": "max-age=30"}
    )
