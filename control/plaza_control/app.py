"""The application factory. Nothing runs at import; ``create_app`` builds an app
from settings, and its lifespan opens (and closes) every client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar

from plaza_control.autoscaler.service import start_autoscaler
from plaza_control.container import Services
from plaza_control.maintenance import start_loops
from plaza_control.observability import Metrics, configure_logging, observe_every_request
from plaza_control.routes import players, system
from plaza_control.routes.autoscaler import AutoscalerController
from plaza_control.routes.bodies import JsonRequest
from plaza_control.routes.chat import ChatController
from plaza_control.routes.openapi import assets_router, declare_problems, openapi_config
from plaza_control.routes.ops import ApiKeysController, OpsController, WorldsController
from plaza_control.routes.problems import EXCEPTION_HANDLERS
from plaza_control.routes.web import web_routers
from plaza_control.settings import Settings

_log = structlog.get_logger("plaza.app")
#: Request bodies over this many bytes answer 413 ``too-large`` before decoding.
MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings, *, background: bool = True) -> Litestar:
    """Build the control plane app. ``background=False`` skips the maintenance
    loops (tests that drive sweeps themselves)."""
    configure_logging(settings.log_level)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        svc = Services(settings, metrics)
        try:
            await svc.start()
            app.state.services = svc
            tasks = start_loops(svc) if background else []
            if background:
                tasks += svc.start_consumers()
                tasks += start_autoscaler(app.state, svc)
            _log.info("control plane started", port=settings.port, kid=svc.key_ring().signing.kid)
            try:
                yield
            finally:
                svc.stop_consumers()
                for t in tasks:
                    t.cancel()
                _, stuck = await asyncio.wait(tasks, timeout=10) if tasks else (set(), set())
                if stuck:
                    # Never hang a shutdown on a task that lost its cancellation.
                    names = sorted(t.get_name() for t in stuck)
                    _log.warning("tasks still running at shutdown", tasks=names)
        finally:
            await svc.close()

    app = Litestar(
        route_handlers=[
            players.AuthController,
            players.JoinController,
            OpsController,
            ChatController,
            WorldsController,
            ApiKeysController,
            AutoscalerController,
            system.healthz,
            system.readyz,
            system.metrics,
            system.jwks,
            assets_router(),
            *web_routers(settings.web_dir),
        ],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=JsonRequest,
        openapi_config=openapi_config(),
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
        # observability.configure_logging owns the root logger: ECS JSON only.
        logging_config=None,
    )
    observe_every_request(app, metrics, settings.access_log)  # also routing 404/405
    declare_problems(app)
    return app
