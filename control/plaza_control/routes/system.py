"""Health, readiness, metrics and the JWKS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from plaza_control import placement
from plaza_control.container import Services
from plaza_control.routes.bodies import Health, Readiness
from plaza_control.routes.deps import services

#: Bounds of one check of ``/readyz`` and ``/healthz``; a probe's checks run
#: concurrently, so it answers within about this long (the chart gives its
#: probes 2 s). A check slower than this counts as failed.
READY_CHECK_SECONDS = 1.0
HEALTH_CHECK_SECONDS = 0.5


async def _check(ping: Awaitable[object], bound_seconds: float) -> str:
    try:
        await asyncio.wait_for(ping, timeout=bound_seconds)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return f"fail: {type(exc).__name__}"
    return "ok"


@get(
    "/healthz",
    tags=["system"],
    summary="Liveness: the process serves requests; MongoDB is reported, not judged",
)
async def healthz(state: State) -> Health:
    """Always 200 while the process serves: a liveness probe must not restart
    processes for a dependency's outage. ``status`` is ``degraded`` when MongoDB
    does not answer a ping within 0.5 s (``checks.mongodb``; gauge
    ``plaza_control_mongodb_up`` 0): joins go on (they need Redis only), while
    sign-in, the ops API and event records wait for it."""
    svc: Services = services(state)
    mongo = await _check(svc.mongo.admin.command("ping"), HEALTH_CHECK_SECONDS)
    svc.metrics.mongodb_up.set(1 if mongo == "ok" else 0)
    return Health("ok" if mongo == "ok" else "degraded", {"mongodb": mongo})


@get(
    "/readyz",
    tags=["system"],
    summary="Readiness: Redis answers (joins need only Redis)",
    responses={
        503: ResponseSpec(
            Readiness, description="Redis did not answer: the same body, status unavailable"
        )
    },
)
async def readyz(state: State) -> Response[Readiness]:
    """503 when Redis does not answer a ping within 1 s. MongoDB is not a
    readiness condition (joins never touch it): its outage shows as ``degraded``
    in ``/healthz`` and ``plaza_control_mongodb_up``. ``placeable_relays``
    (relays that can take a new room) is reported, not judged: failing readiness
    on it would deadlock a fresh cluster whose relays need this process for
    their keys (decisions/009); the gauge ``plaza_control_placeable_relays``
    alerts on it."""
    svc: Services = services(state)

    async def placeable() -> int:
        try:
            relays = await asyncio.wait_for(svc.allocator.relays(), READY_CHECK_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception:
            return -1
        n = placement.placeable(relays)
        svc.metrics.placeable_relays.set(n)
        return n

    redis_status, relays = await asyncio.gather(
        _check(svc.redis.ping(), READY_CHECK_SECONDS), placeable()
    )
    ok = redis_status == "ok"
    svc.metrics.redis_up.set(1 if ok else 0)
    body = Readiness(
        "ok" if ok else "unavailable", {"redis": redis_status}, placeable_relays=relays
    )
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
