"""The Kubernetes edge of the autoscaler: the relay StatefulSet (its scale and the
annotations that hold a scale-down in progress) and the Lease that elects one
reconciler. The only module that talks to the API server (``kubernetes.aio``).

Writes use JSON merge patches that carry the ``resourceVersion`` last read, so
a write based on a stale read fails with 409 instead of overwriting a newer
state; the reconciler then reads again on its next pass.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
from kubernetes.aio import client, config
from kubernetes.aio.client.exceptions import ApiException

from plaza_control.autoscaler.policy import ScaleDown

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
MERGE_PATCH = "application/merge-patch+json"
FIELD_MANAGER = "plaza-autoscaler"
#: Annotations on the StatefulSet that hold a scale-down in progress.
ANNOTATION_PREFIX = "autoscaler.plaza.dev/"
TARGET = ANNOTATION_PREFIX + "target"
DRAINING = ANNOTATION_PREFIX + "draining"
STARTED = ANNOTATION_PREFIX + "drain-started-ms"
#: Seconds one API call may take before the pass gives up (and tries again).
REQUEST_TIMEOUT = 5.0


class KubeError(Exception):
    """An API call failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, op: str, status: int, detail: str) -> None:
        super().__init__(f"{op}: {status} {detail}")
        self.status = status


def _err(op: str, exc: ApiException) -> KubeError:
    return KubeError(op, int(exc.status or 0), str(exc.reason or ""))


def resolve_namespace(setting: str, sa_file: Path = SERVICE_ACCOUNT_NAMESPACE) -> str:
    """The setting, else the pod's own namespace (the ServiceAccount mount), else
    ``default``."""
    if setting:
        return setting
    try:
        found = sa_file.read_text().strip()
    except OSError:
        found = ""
    return found or "default"


def default_identity() -> str:
    """A Lease holder name unique per process: hostname (the Pod name) + random."""
    return f"{socket.gethostname()}-{os.urandom(4).hex()}"


async def api_client(kubeconfig: str) -> client.ApiClient:
    """A client from a kubeconfig file, or from the pod's ServiceAccount ('')."""
    cfg = client.Configuration()
    if kubeconfig:
        await config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, client_configuration=cfg, persist_config=False
        )
    else:
        config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration=cfg)


class StatefulSetView(msgspec.Struct, frozen=True, kw_only=True):
    replicas: int
    #: Replicas the controller has created (``status.replicas``).
    created: int
    resource_version: str
    scale_down: ScaleDown | None


def decode_state(annotations: Mapping[str, str]) -> ScaleDown | None:
    """The scale-down in the annotations; ``None`` if absent or unreadable (an
    unreadable one is treated as none: nothing is lowered on it)."""
    if TARGET not in annotations:
        return None
    try:
        target = int(annotations[TARGET])
        started = int(annotations.get(STARTED, "0"))
    except ValueError:
        return None
    relays = tuple(r for r in annotations.get(DRAINING, "").split(",") if r)
    return ScaleDown(target=target, relays=relays, started_ms=started)


def encode_state(state: ScaleDown | None) -> dict[str, str | None]:
    """The annotation patch for ``state`` (``None`` values delete)."""
    if state is None:
        return {TARGET: None, DRAINING: None, STARTED: None}
    return {
        TARGET: str(state.target),
        DRAINING: ",".join(state.relays),
        STARTED: str(state.started_ms),
    }


class RelayStatefulSet:
    """Reads and scales one StatefulSet."""

    def __init__(self, api: client.ApiClient, namespace: str, name: str) -> None:
        self._apps = client.AppsV1Api(api)
        self.namespace = namespace
        self.name = name

    async def read(self) -> StatefulSetView:
        try:
            sts = await self._apps.read_namespaced_stateful_set(
                self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            raise _err("read statefulset", exc) from exc
        meta = sts.metadata
        spec = sts.spec
        return StatefulSetView(
            replicas=int(spec.replicas if spec and spec.replicas is not None else 1),
            created=int(sts.status.replicas if sts.status and sts.status.replicas else 0),
            resource_version=str(meta.resource_version if meta else ""),
            scale_down=decode_state((meta.annotations if meta else None) or {}),
        )

    async def scale(self, replicas: int, resource_version: str) -> str:
        """Patch the ``scale`` subresource; 409 if the StatefulSet changed since
        ``resource_version`` was read. Returns the new resourceVersion."""
        body = {"metadata": {"resourceVersion": resource_version}, "spec": {"replicas": replicas}}
        return await self._merge_patch(
            self._apps.patch_namespaced_stateful_set_scale, body, "patch scale"
        )

    async def write_state(self, state: ScaleDown | None, resource_version: str) -> str:
        """Write (or clear) the scale-down annotations; returns the new
        resourceVersion."""
        body = {
            "metadata": {"resourceVersion": resource_version, "annotations": encode_state(state)}
        }
        return await self._merge_patch(
            self._apps.patch_namespaced_stateful_set, body, "patch statefulset annotations"
        )

    async def _merge_patch(self, patch: Any, body: dict[str, Any], what: str) -> str:
        """A JSON merge patch of this StatefulSet (or its scale) through ``patch``;
        returns the new resourceVersion (409 when ``body``'s is stale)."""
        try:
            out = await patch(
                self.name,
                self.namespace,
                body,
                field_manager=FIELD_MANAGER,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            raise _err(what, exc) from exc
        return str(out.metadata.resource_version if out.metadata else "")


class LeaderView(msgspec.Struct, frozen=True, kw_only=True):
    leader: bool
    #: Who holds the Lease ('' = nobody, or not read yet).
    holder: str


def _micro_time(t: float) -> str:
    """A ``MicroTime`` (RFC 3339 with exactly 6 fraction digits, UTC): the API
    server refuses one without the fraction, which ``isoformat`` drops."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseElector:
    """Leader election over one ``coordination.k8s.io/v1`` Lease, the way client-go
    does it: the holder renews ``renewTime`` every pass; another process takes
    the Lease only after it has seen the record unchanged for
    ``leaseDurationSeconds`` on its own monotonic clock (no trust in clocks of
    other machines). Every write carries the resourceVersion it read, so two
    candidates never both win. ``release`` hands the Lease back at shutdown.

    (``kubernetes.aio.leaderelection`` was not used: it runs one callback per
    term and returns on loss, writes local time marked as UTC, logs a stack
    trace for every lost race and cannot release.)"""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        name: str,
        identity: str,
        lease_seconds: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._api = client.CoordinationV1Api(api)
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self._seconds = lease_seconds
        self.seconds = lease_seconds
        self._mono = monotonic
        self._wall = wall
        self._observed: tuple[str, str] | None = None
        self._observed_at = 0.0
        self.view = LeaderView(leader=False, holder="")

    def _spec(self, acquire: str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self._seconds,
            "acquireTime": acquire,
            "renewTime": _micro_time(self._wall()),
            "leaseTransitions": transitions,
        }

    async def _create(self) -> LeaderView:
        # The typed body serialises times with ``isoformat``, which drops a zero
        # fraction that ``MicroTime`` requires: keep the fraction non-zero.
        now = dt.datetime.fromtimestamp(self._wall(), dt.UTC)
        now = now.replace(microsecond=now.microsecond or 1)
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.name),
            spec=client.V1LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=self._seconds,
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            ),
        )
        try:
            await self._api.create_namespaced_lease(
                self.namespace, body, field_manager=FIELD_MANAGER, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 409:  # another candidate created it first
                return LeaderView(leader=False, holder="")
            raise _err("create lease", exc) from exc
        return LeaderView(leader=True, holder=self.identity)

    async def holder(self) -> str:
        """Who holds the Lease, read only ('' = nobody or no Lease)."""
        try:
            lease = await self._api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                return ""
            raise _err("read lease", exc) from exc
        return str(lease.spec.holder_identity or "") if lease.spec else ""

    async def step(self) -> LeaderView:
        """Acquire or renew; the answer says whether this process leads now."""
        self.view = await self._step()
        return self.view

    async def _step(self) -> LeaderView:
        try:
            lease = await self._api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                return await self._create()
            raise _err("read lease", exc) from exc
        spec = lease.spec
        rv = str(lease.metadata.resource_version if lease.metadata else "")
        holder = str(spec.holder_identity or "") if spec else ""
        duration = int(spec.lease_duration_seconds or self._seconds) if spec else self._seconds
        now = self._mono()
        if self._observed != (holder, rv):
            self._observed, self._observed_at = (holder, rv), now
        if holder and holder != self.identity and now - self._observed_at < duration:
            return LeaderView(leader=False, holder=holder)
        mine = holder == self.identity
        acquire = spec.acquire_time if mine and spec and spec.acquire_time else None
        transitions = int(spec.lease_transitions or 0) if spec else 0
        body = {
            "metadata": {"resourceVersion": rv},
            "spec": self._spec(
                _micro_time(acquire.timestamp()) if acquire else _micro_time(self._wall()),
                transitions if mine else transitions + 1,
            ),
        }
        try:
            updated = await self._api.patch_namespaced_lease(
                self.name,
                self.namespace,
                body,
                field_manager=FIELD_MANAGER,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status == 409:
                return LeaderView(leader=False, holder=holder)
            raise _err("renew lease", exc) from exc
        new_rv = str(updated.metadata.resource_version if updated.metadata else "")
        self._observed, self._observed_at = (self.identity, new_rv), self._mono()
        return LeaderView(leader=True, holder=self.identity)

    async def release(self) -> None:
        """Give the Lease up if this process holds it, so a successor need not
        wait out the lease duration. Errors are swallowed (the Lease expires)."""
        if not self.view.leader:
            return
        try:
            lease = await self._api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT
            )
            if lease.spec is None or lease.spec.holder_identity != self.identity:
                return
            rv = str(lease.metadata.resource_version if lease.metadata else "")
            await self._api.patch_namespaced_lease(
                self.name,
                self.namespace,
                {
                    "metadata": {"resourceVersion": rv},
                    "spec": {"holderIdentity": None, "leaseDurationSeconds": 1},
                },
                field_manager=FIELD_MANAGER,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except (ApiException, OSError):
            pass
        self.view = LeaderView(leader=False, holder="")
