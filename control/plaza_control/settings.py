"""Settings: read once from the environment (prefix ``PLAZA_``), validated by msgspec.

Nothing here runs at import. ``Settings.from_env()`` is called by the CLI; tests
build ``Settings(...)`` directly. Every field is documented in docs/control.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from plaza_control.errors import ConfigError

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
ServerName = Literal["uvicorn", "granian"]


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Control plane configuration. Zero-config values suit local development only."""

    # Network: the control plane binds loopback unless told otherwise.
    host: str = "127.0.0.1"
    port: Port = 18080
    server: ServerName = "uvicorn"
    workers: Positive = 1

    # Backing services.
    redis_url: str = "redis://127.0.0.1:16379/0"
    redis_prefix: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,32}$")] = "plaza:"
    mongo_url: str = "mongodb://127.0.0.1:27217/"
    mongo_db: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,48}$")] = "plaza"
    mongo_timeout_ms: Annotated[int, msgspec.Meta(ge=100, le=60000)] = 3000

    # Tokens and keys.
    issuer: str = "plaza-control"
    key_dir: str = ".data/keys"
    signing_key_pem: str = ""
    signing_key_id: str = ""
    previous_signing_key_pem: str = ""
    previous_signing_key_id: str = ""
    key_activation_seconds: Annotated[int, msgspec.Meta(ge=0)] = 20
    key_reload_seconds: Positive = 10
    session_secret: str = ""
    ticket_ttl_seconds: Annotated[int, msgspec.Meta(ge=5, le=300)] = 30
    session_ttl_seconds: Annotated[int, msgspec.Meta(ge=60, le=86400)] = 900
    refresh_ttl_seconds: Annotated[int, msgspec.Meta(ge=300)] = 30 * 86400

    # External identity provider (all three empty: external sign-in disabled).
    identity_issuer: str = ""
    identity_audience: str = ""
    identity_jwks_url: str = ""
    identity_algorithms: str = "RS256,ES256,EdDSA"

    # Allocation.
    seat_reservation_seconds: Annotated[int, msgspec.Meta(ge=10, le=3600)] = 60
    relay_cache_ms: Annotated[int, msgspec.Meta(ge=0, le=10000)] = 500
    sweep_interval_seconds: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    #: A command no relay acknowledged within this becomes ``expired`` (checked
    #: by the sweeper loop).
    command_deadline_seconds: Annotated[int, msgspec.Meta(ge=1, le=86400)] = 30
    cache_refresh_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    room_scan_limit: Annotated[int, msgspec.Meta(ge=1, le=256)] = 16

    # Rate limits: requests per window, counted in Redis (shared by all processes).
    rate_window_seconds: Positive = 60
    signin_per_ip: Positive = 60
    signin_per_device: Positive = 20
    join_per_ip: Positive = 1200
    join_per_user: Positive = 60
    trust_forwarded_for: bool = False

    # Relay events: the consumer group on ``P events`` (docs/redis.md).
    events_consumer: bool = True
    events_group: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,32}$")] = "control"
    #: The second group on the same stream: seat confirmation/release, Redis only.
    events_seats_group: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,32}$")] = "seats"
    #: How long a relay session's leave is remembered, so its late join (a
    #: redelivery, an entry claimed from a dead consumer) confirms nothing.
    events_ended_ttl_seconds: Annotated[int, msgspec.Meta(ge=60, le=604800)] = 600
    events_batch: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 256
    events_block_ms: Annotated[int, msgspec.Meta(ge=10, le=60000)] = 2000
    events_claim_idle_ms: Annotated[int, msgspec.Meta(ge=100)] = 30000
    events_claim_interval_seconds: Annotated[float, msgspec.Meta(gt=0)] = 5.0

    # Bounded history in Redis, run by every process's maintenance (docs/redis.md,
    # "Trimming the events stream"; docs/decisions/016): how often P events is
    # trimmed behind every consumer group (XTRIM MINID), and how often fields of
    # ended rooms are forgotten from A room_lifetimes.
    events_trim_interval_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    lifetimes_forget_interval_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0

    # Join pacing (services/pacing.py, services/join_schedule.py), per process:
    # joins in flight beyond which join answers 503 ``overloaded`` with a jittered
    # wait of retry_after_seconds plus up to as much again (0 = unbounded) ...
    join_max_in_flight: Annotated[int, msgspec.Meta(ge=0)] = 256
    join_retry_after_seconds: Annotated[int, msgspec.Meta(ge=1, le=300)] = 2
    # ... and the admission schedule: joins admitted per second with a burst
    # (0 = no schedule); a join beyond it answers 503 ``overloaded`` with its own
    # future slot as retry_after_ms, at most the horizon ahead. 400/s: below
    # what one process sustained with p99 <= 100 ms in W3 on a loaded 2-core
    # box (docs/control-benchmarks.md "Join pacing default"); burst >= rate/4 + 1.
    join_rate_per_second: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 400
    join_burst: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 110
    join_schedule_horizon_ms: Annotated[int, msgspec.Meta(ge=100, le=600_000)] = 30_000

    # Relay autoscaler (docs/autoscaler.md; env ``PLAZA_AUTOSCALER_*``).
    autoscaler_enabled: bool = False
    #: Decide and log, never write to Kubernetes or Redis.
    autoscaler_dry_run: bool = False
    #: '' = the in-cluster namespace file, else "default".
    autoscaler_namespace: str = ""
    autoscaler_statefulset: str = "plaza-relay"
    #: '' = in-cluster config (the pod's ServiceAccount).
    autoscaler_kubeconfig: str = ""
    autoscaler_min_relays: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    autoscaler_max_relays: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 8
    #: Free connection capacity to keep, in percent of the total.
    autoscaler_headroom_percent: Annotated[int, msgspec.Meta(ge=0, le=90)] = 25
    #: Rooms one relay is meant to hold (0 = rooms do not count).
    autoscaler_rooms_per_relay: Annotated[int, msgspec.Meta(ge=0)] = 0
    autoscaler_scale_down_stabilization_seconds: Annotated[int, msgspec.Meta(ge=0)] = 300
    autoscaler_max_concurrent_drains: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    autoscaler_drain_timeout_seconds: Annotated[int, msgspec.Meta(ge=1)] = 600
    autoscaler_interval_seconds: Annotated[float, msgspec.Meta(gt=0)] = 5
    autoscaler_lease_name: Annotated[
        str, msgspec.Meta(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    ] = "plaza-autoscaler"
    autoscaler_lease_seconds: Annotated[int, msgspec.Meta(ge=2, le=3600)] = 15
    #: This process's name in the Lease ('' = hostname plus a random suffix).
    autoscaler_identity: str = ""

    # The built web app (scripts/web.sh build: web/dist) served at /play/,
    # /console/ and /assets/ (routes/web.py); empty or missing: not served.
    web_dir: str = ""

    # Observability.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True

    def __post_init__(self) -> None:
        if self.events_seats_group == self.events_group:
            raise ValueError("events_seats_group must differ from events_group")
        if self.autoscaler_min_relays > self.autoscaler_max_relays:
            raise ValueError("autoscaler_min_relays must not exceed autoscaler_max_relays")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``PLAZA_*`` variables; unknown ``PLAZA_`` names are ignored
        because other Plaza programs share the prefix (e.g. ``PLAZA_REDIS_PORT``)."""
        env = os.environ if environ is None else environ
        fields = {f.name for f in msgspec.structs.fields(cls)}
        raw: dict[str, object] = {}
        for name, value in env.items():
            if not name.startswith("PLAZA_"):
                continue
            key = name[len("PLAZA_") :].lower()
            if key in fields:
                raw[key] = value
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"invalid PLAZA_ setting: {exc}") from exc

    def identity_enabled(self) -> bool:
        return bool(self.identity_issuer and self.identity_audience and self.identity_jwks_url)
