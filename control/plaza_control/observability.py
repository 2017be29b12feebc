"""structlog JSON logs with request ids, and Prometheus metrics on a per-app registry."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars
from structlog.typing import Processor

from plaza_control.autoscaler.metrics import AutoscalerMetrics

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


SERVICE_NAME = "plaza-control"

# Log lines carry Elastic Common Schema names, so ElasticSearch/Kibana ingest
# them with no mapping work: ``@timestamp`` (RFC 3339, UTC), ``log.level``,
# ``message``, ``service.name``, ``trace.id`` (the request id), ``log.logger``
# (stdlib records), ``error.message`` and ``error.stack_trace``. Keys are dotted, not nested:
# ElasticSearch expands dots into objects.
_ECS_RENAMES = {
    "event": "message",
    "level": "log.level",
    "request_id": "trace.id",
    "exception": "error.stack_trace",
    # ECS maps ``error`` as an object: a plain string there would be refused.
    "error": "error.message",
}


def _ecs_fields(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for old, new in _ECS_RENAMES.items():
        if old in event_dict:
            event_dict[new] = event_dict.pop(old)
    record = event_dict.get("_record")
    if isinstance(record, logging.LogRecord):
        event_dict["log.logger"] = record.name
    event_dict["service.name"] = SERVICE_NAME
    return event_dict


#: ``log.level`` values: the same four as the relay's (relay-go ``ecslog``), so
#: one query finds warnings of both programs. stdlib records say
#: "WARNING"/"CRITICAL"; structlog's own lines say the method name.
LOG_LEVELS = {
    "debug": "debug",
    "info": "info",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
    "exception": "error",
    "critical": "error",
    "fatal": "error",
}


def _level_name(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    level = event_dict.get("level")
    if isinstance(level, str):
        event_dict["level"] = LOG_LEVELS.get(level.lower(), "debug")
    return event_dict


_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    _level_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="@timestamp"),
    structlog.processors.format_exc_info,
    _ecs_fields,
]


def json_formatter() -> logging.Formatter:
    """The formatter for stdlib records (uvicorn, litestar, libraries): the same
    JSON line shape as structlog's own. Named in uvicorn's log config."""
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
        foreign_pre_chain=_SHARED,
    )


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn: every line (its start-up and
    error lines too) becomes a JSON object on stdout, in every worker process."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "plaza_control.observability.json_formatter"}},
        "handlers": {"json": handler},
        "root": {"handlers": ["json"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "level": level.upper(), "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(level: str) -> None:
    """JSON lines on stdout, from structlog and from every stdlib logger. structlog's
    configuration is process-wide by design; calling this again only changes the level."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(json_formatter())
    logging.basicConfig(handlers=[handler], level=level.upper(), force=True)
    structlog.configure(
        processors=[*_SHARED, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )


def current_request_id() -> str | None:
    rid = get_contextvars().get("request_id")
    return rid if isinstance(rid, str) else None


#: Command kinds (models.*Body tags), each ``plaza_control_commands_total``
#: series created at zero.
COMMAND_KINDS = ("kick", "mute", "unmute", "close_room", "announce", "drain", "reload_config")


def _build() -> tuple[str, str]:
    """(version, commit) of this control plane: the package version, and the
    commit from ``PLAZA_BUILD_COMMIT`` (set by the image build) or ``unknown``."""
    try:
        version = importlib.metadata.version("plaza-control")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return version, os.environ.get("PLAZA_BUILD_COMMIT") or "unknown"


class Metrics:
    """Every metric of one app instance, on its own registry (no global state but
    one switch: prometheus-client's ``*_created`` series are off process-wide,
    they only double every counter's series)."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        # process_* (CPU, memory, fds), python_info, python_gc_*: the same
        # families the default registry carries, on this app's registry.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        if GC_COLLECTOR is not None:
            GCCollector(registry=self.registry)
        self.build_info = Gauge(
            "plaza_build_info",
            "Always 1; the labels name the running build",
            ["program", "version", "commit"],
            registry=self.registry,
        )
        self.build_info.labels("control", *_build()).set(1)
        self.requests = Counter(
            "plaza_control_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "plaza_control_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.joins = Counter(
            "plaza_control_joins", "Join outcomes", ["outcome"], registry=self.registry
        )
        self.signins = Counter(
            "plaza_control_signins", "Sign-in outcomes", ["kind", "outcome"], registry=self.registry
        )
        self.commands = Counter(
            "plaza_control_commands",
            "Relay commands published (an operator action), by kind",
            ["kind"],
            registry=self.registry,
        )
        for kind in COMMAND_KINDS:
            self.commands.labels(kind)
        self.swept_rooms = Counter(
            "plaza_control_swept_rooms",
            "Empty rooms released by the sweeper",
            registry=self.registry,
        )
        self.placeable_relays = Gauge(
            "plaza_control_placeable_relays",
            "Live relays that can take a new room (ready, not drained, a free connection); "
            "0 = every join needing a new room answers no-relay",
            registry=self.registry,
        )
        self.joins.labels("ok")
        self.relays = Gauge(
            "plaza_control_relays",
            "Relays with a live heartbeat, by state: live (ready, not marked draining), "
            "draining (reported or marked), full (live but no free connection)",
            ["state"],
            registry=self.registry,
        )
        for state in ("live", "draining", "full"):
            self.relays.labels(state)
        self.rooms = Gauge(
            "plaza_control_rooms",
            "Open rooms, as the live relays last reported them",
            registry=self.registry,
        )
        self.seats = Gauge(
            "plaza_control_seats",
            "Seats reserved or confirmed on live relays",
            registry=self.registry,
        )
        self.capacity = Gauge(
            "plaza_control_capacity_connections",
            "Connection capacity of the live relays that are not draining",
            registry=self.registry,
        )
        self.redis_up = Gauge(
            "plaza_control_redis_up",
            "1 while Redis answered the last health ping (every sweep interval)",
            registry=self.registry,
        )
        self.mongodb_up = Gauge(
            "plaza_control_mongodb_up",
            "1 while MongoDB answered the last health ping; 0 degrades /healthz, "
            "joins go on (they need only Redis)",
            registry=self.registry,
        )
        self.join_pacing = JoinPacingMetrics(self.registry)
        self.events = EventMetrics(self.registry)
        self.autoscaler = AutoscalerMetrics(self.registry)


class JoinPacingMetrics:
    """The join pacer's series (services/pacing.py): refusals by reason, and the
    admission schedule's backlog, read from the pacer at each scrape."""

    REASONS = ("in_flight", "rate", "horizon")

    def __init__(self, registry: CollectorRegistry) -> None:
        self.refused = Counter(
            "plaza_control_join_refused",
            "Joins refused 503 overloaded by this process's pacer, by reason: in_flight "
            "(PLAZA_JOIN_MAX_IN_FLIGHT), rate (booked a future slot of the admission "
            "schedule), horizon (the schedule is full to PLAZA_JOIN_SCHEDULE_HORIZON_MS)",
            ["reason"],
            registry=registry,
        )
        for reason in self.REASONS:
            self.refused.labels(reason)
        self.backlog = Gauge(
            "plaza_control_join_schedule_backlog_seconds",
            "How far ahead the admission schedule's last booked slot lies "
            "(0: nothing booked; near the horizon: joins answer reason horizon)",
            registry=registry,
        )
        self.pending = Gauge(
            "plaza_control_join_schedule_pending",
            "Booked slots of the admission schedule not yet used or forfeited",
            registry=registry,
        )

    def observe(self, backlog_seconds: Callable[[], float], pending: Callable[[], int]) -> None:
        """Read the two gauges from the pacer at scrape time."""
        self.backlog.set_function(backlog_seconds)
        self.pending.set_function(pending)

    def count_refusal(self, reason: str) -> None:
        self.refused.labels(reason).inc()


# Series of the event consumers. Every series carries the consumer group
# (``control``: MongoDB records; ``seats``: seat confirmation and release in
# Redis), so the two groups' lag and pending counts sit side by side.


class _Labelled:
    """A labelled counter family with the group label already filled in."""

    def __init__(self, family: Counter, group: str) -> None:
        self._family = family
        self._group = group

    def labels(self, *values: str) -> Counter:
        return self._family.labels(self._group, *values)


class GroupMetrics:
    """The series of one consumer group: what ``EventConsumer`` updates."""

    def __init__(self, families: EventMetrics, group: str) -> None:
        self.group = group
        self.consumed = _Labelled(families.consumed, group)
        self.stale = _Labelled(families.stale, group)
        self.errors = _Labelled(families.errors, group)
        # Every group reads the stream from Redis: its error series exists at zero.
        self.errors.labels("redis")
        self.claimed: Counter = families.claimed.labels(group)
        self.dead_letters: Counter = families.dead_letters.labels(group)
        self.lag: Gauge = families.lag.labels(group)
        self.pending: Gauge = families.pending.labels(group)
        self.ack_latency: Histogram = families.ack_latency.labels(group)


class EventMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumed = Counter(
            "plaza_control_events_consumed",
            "Relay events applied and acknowledged, by consumer group and kind",
            ["group", "kind"],
            registry=registry,
        )
        self.claimed = Counter(
            "plaza_control_events_claimed",
            "Stream entries taken over from an idle consumer (XAUTOCLAIM)",
            ["group"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "plaza_control_events_dead_letters",
            "Undecodable stream entries acknowledged (the control group stores them "
            "in MongoDB dead_letters first)",
            ["group"],
            registry=registry,
        )
        self.stale = Counter(
            "plaza_control_events_stale",
            "Events that changed nothing because they were late: room now elsewhere, "
            "session already ended, command unknown",
            ["group", "kind"],
            registry=registry,
        )
        self.errors = Counter(
            "plaza_control_events_errors",
            "Consumer failures that stopped acknowledging and backed off, by dependency",
            ["group", "dependency"],
            registry=registry,
        )
        self.lag = Gauge(
            "plaza_control_events_lag",
            "Entries of the stream not yet delivered to the group (XINFO GROUPS lag)",
            ["group"],
            registry=registry,
        )
        self.pending = Gauge(
            "plaza_control_events_pending",
            "Entries delivered to the group but not acknowledged",
            ["group"],
            registry=registry,
        )
        self.ack_latency = Histogram(
            "plaza_control_events_ack_latency_seconds",
            "From XADD (the entry id's time) to XACK",
            ["group"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0),
            registry=registry,
        )
        self._groups: dict[str, GroupMetrics] = {}

    def group(self, name: str) -> GroupMetrics:
        if name not in self._groups:
            self._groups[name] = GroupMetrics(self, name)
        return self._groups[name]


def observe_every_request(app: Litestar, metrics: Metrics, access_log: bool) -> None:
    """Put ``ObservabilityMiddleware`` around the whole app, outside its router.

    Litestar runs the ``middleware=`` stack only once a route matched: the
    router raises 404 and 405 before it, so those answers had no request id,
    no count and no access line. Wrapped around the app's ASGI handler (the
    router inside the app-level exception handlers), every answer gets all
    three; routing errors count under the route ``unmatched``."""
    app.asgi_handler = ObservabilityMiddleware(app.asgi_handler, metrics, access_log)


class ObservabilityMiddleware:
    """Binds a request id (the caller's valid ``X-Request-ID`` or a new one) to the
    log context, echoes it, counts and times the request by route template, and
    writes one access log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.log = structlog.get_logger("plaza.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID_RE.match(candidate):
                    rid = candidate
                break
        rid = rid or secrets.token_hex(8)
        clear_contextvars()
        bind_contextvars(request_id=rid)
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route: str = scope.get("path_template") or "unmatched"
            method: str = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if self.access_log:
                # ECS names: the route template goes in url.path (no ids, no query).
                extra: dict[str, Any] = {
                    "http.request.method": method,
                    "url.path": route,
                    "http.response.status_code": status,
                    "event.duration": int(elapsed * 1e9),
                }
                self.log.info("request", **extra)
