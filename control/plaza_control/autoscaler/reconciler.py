"""The reconcile loop: one pass reads the StatefulSet, the Lease and the relays'
heartbeats, decides (``policy``) and, if this process leads, acts.

Idempotent: a pass keeps nothing it needs in memory but the recommendation
history of the scale-down window. A scale-down in progress lives in the
StatefulSet's annotations (``kube.TARGET``, ``kube.DRAINING``, ``kube.STARTED``)
and in Redis (the drain marks, ``A draining``), so a restart or a new leader
takes it over where it stood. Write order, so that a crash between any two
writes leaves a state the next pass completes: undrain; record the new
scale-down in the annotations; drain; write the replica count; clear the
annotations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import msgspec
import structlog

from plaza_control.autoscaler import policy as pol
from plaza_control.autoscaler.kube import LeaderView, LeaseElector, RelayStatefulSet
from plaza_control.autoscaler.metrics import AutoscalerMetrics
from plaza_control.clock import Clock, system_clock_ms
from plaza_control.errors import PlazaError
from plaza_control.models import ApiKey, RelayInfo, Role
from plaza_control.repositories.base import Allocator
from plaza_control.services.ops import OpsService

_log = structlog.get_logger("plaza.autoscaler")

#: Decisions kept for the ops view.
HISTORY = 50
#: The audit actor and command issuer of the autoscaler's drains.
ACTOR = "autoscaler"


class Drains(Protocol):
    """What the reconciler does to relays. ``drain`` is the operators' drain path
    (mark for the running incarnation + drain command, audited)."""

    async def drain(self, relay_id: str, reason: str) -> None: ...
    async def remark(self, relay_id: str, boot_id: str) -> None: ...
    async def undrain(self, relay_id: str, reason: str) -> None: ...


class OpsDrains:
    """``Drains`` through ``OpsService`` (audit actor ``autoscaler``)."""

    def __init__(self, ops: OpsService, allocator: Allocator, relay_deadline_seconds: int) -> None:
        self._ops = ops
        self._alloc = allocator
        self._deadline = relay_deadline_seconds
        self._actor = ApiKey(id=ACTOR, name=ACTOR, role=Role.ADMIN, hash="", created_at_ms=0)

    async def drain(self, relay_id: str, reason: str) -> None:
        await self._ops.drain(self._actor, relay_id, self._deadline, reason)

    async def remark(self, relay_id: str, boot_id: str) -> None:
        await self._alloc.mark_draining(relay_id, boot_id)

    async def undrain(self, relay_id: str, reason: str) -> None:
        await self._ops.undrain(self._actor, relay_id, reason)


class DecisionRecord(msgspec.Struct, frozen=True, kw_only=True):
    at_ms: int
    #: The last pass that decided the same (consecutive repeats are folded).
    last_at_ms: int
    repeats: int
    outcome: pol.Outcome
    reason: str
    current: int
    wanted: int
    stable: int
    #: The replica count written (or, in dry-run, that would be); null = none.
    replicas: int | None
    drained: list[str]
    undrained: list[str]
    dry_run: bool


class Status(msgspec.Struct, frozen=True, kw_only=True):
    """The ops view (``GET /v1/ops/autoscaler``)."""

    enabled: bool
    dry_run: bool
    namespace: str
    statefulset: str
    identity: str
    #: This process holds the Lease (never in dry-run: it writes nothing).
    leader: bool
    #: Who holds the Lease ('' = nobody, or not read yet).
    holder: str
    current: int | None
    wanted: int | None
    stable: int | None
    reason: str
    outcome: str
    #: Relays being drained for the scale-down in progress.
    draining: list[str]
    scale_down_target: int | None
    last_pass_ms: int
    last_error: str
    decisions: list[DecisionRecord]


class Reconciler:
    def __init__(
        self,
        *,
        statefulset: RelayStatefulSet,
        elector: LeaseElector,
        relays: Callable[[], Awaitable[list[RelayInfo]]],
        drains: Drains,
        policy: pol.Policy,
        metrics: AutoscalerMetrics | None = None,
        dry_run: bool = False,
        clock: Clock = system_clock_ms,
    ) -> None:
        self._sts = statefulset
        self._elector = elector
        self._relays = relays
        self._drains = drains
        self.policy = policy
        self._m = metrics
        self.dry_run = dry_run
        self._clock = clock
        self._history: list[pol.Recommendation] = []
        self._since_ms: int | None = None
        self._decisions: list[DecisionRecord] = []
        self._view = LeaderView(leader=False, holder="")
        self._current: int | None = None
        self._wanted: int | None = None
        self._stable: int | None = None
        self._reason = ""
        self._outcome = ""
        self._state: pol.ScaleDown | None = None
        self._last_pass_ms = 0
        self._last_error = ""

    # --- the view -----------------------------------------------------------
    def status(self, enabled: bool = True) -> Status:
        return Status(
            enabled=enabled,
            dry_run=self.dry_run,
            namespace=self._sts.namespace,
            statefulset=self._sts.name,
            identity=self._elector.identity,
            leader=self._view.leader,
            holder=self._view.holder,
            current=self._current,
            wanted=self._wanted,
            stable=self._stable,
            reason=self._reason,
            outcome=self._outcome,
            draining=list(self._state.relays) if self._state else [],
            scale_down_target=self._state.target if self._state else None,
            last_pass_ms=self._last_pass_ms,
            last_error=self._last_error,
            decisions=list(reversed(self._decisions)),
        )

    # --- one pass -----------------------------------------------------------
    async def _leadership(self) -> LeaderView:
        if self.dry_run:
            return LeaderView(leader=False, holder=await self._elector.holder())
        return await self._elector.step()

    def _relay_map(self, infos: Sequence[RelayInfo]) -> dict[int, pol.Relay]:
        out: dict[int, pol.Relay] = {}
        for r in infos:
            o = pol.ordinal_of(r.relay_id, self._sts.name)
            if o is None:
                continue
            out[o] = pol.Relay(
                relay_id=r.relay_id,
                ordinal=o,
                live=True,
                connections=r.connections,
                seats=r.seats,
                rooms=r.rooms,
                boot_id=r.boot_id,
                drain_marked=r.drain_requested,
                drain_boot_id=r.drain_boot_id,
            )
        return out

    async def reconcile(self) -> pol.Plan | None:
        """One pass; returns what it decided (``None`` when it failed). Never raises
        but for cancellation: a failure is logged, counted and shown in the view."""
        try:
            return await self._pass()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Kubernetes, Redis, MongoDB (audit): the loop lives on
            self._failed(exc)
        return None

    def _failed(self, exc: BaseException) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"
        if self._m:
            self._m.errors.inc()
        _log.warning("autoscaler pass failed", error=self._last_error)

    async def _pass(self) -> pol.Plan:
        now = self._clock()
        view = await self._leadership()
        self._view = view
        if self._m:
            self._m.leader.set(1 if view.leader else 0)
        sts = await self._sts.read()
        infos = [
            i
            for i in await self._relays()
            if pol.ordinal_of(i.relay_id, self._sts.name) is not None
        ]
        relays = self._relay_map(infos)
        load = pol.load_of(relays.values(), (i.capacity_connections for i in infos))
        decision = pol.wanted_relays(load, sts.replicas, self.policy)

        window = self.policy.stabilization_ms
        if self._since_ms is None:
            self._since_ms = now
        self._history = pol.prune(self._history, now, window)
        stable = pol.stabilized(
            self._history,
            now_ms=now,
            since_ms=self._since_ms,
            window_ms=window,
            current=sts.replicas,
            wanted=decision.replicas,
        )
        self._history.append(pol.Recommendation(now, decision.replicas))
        plan = pol.plan(
            statefulset=self._sts.name,
            current=sts.replicas,
            wanted=decision.replicas,
            stable=stable,
            relays=relays,
            state=sts.scale_down,
            now_ms=now,
            policy=self.policy,
        )
        self._current, self._wanted, self._stable = sts.replicas, decision.replicas, stable
        self._reason = (
            f"{decision.reason}: {load.connections} connections, {load.rooms} rooms, "
            f"capacity {load.capacity}/relay; {plan.reason}"
        )
        self._outcome = plan.outcome
        self._last_pass_ms = now
        self._last_error = ""
        acts = view.leader or self.dry_run
        if self._m:
            self._m.replicas.labels("current").set(sts.replicas)
            self._m.replicas.labels("wanted").set(decision.replicas)
            self._m.replicas.labels("stable").set(stable)
        if not acts:
            self._state = sts.scale_down
            return plan
        if self._m:
            self._m.decisions.labels(plan.outcome).inc()
        self._record(now, plan, sts.replicas, decision.replicas, stable)
        if plan.outcome == "drain-timeout":
            # Start the window again: no new scale-down right after giving one up.
            self._since_ms = now
            self._history = []
        if not self.dry_run:
            await self._act(plan, sts.scale_down, sts.replicas, sts.resource_version)
        self._state = plan.state if not self.dry_run else sts.scale_down
        if self._m:
            self._m.draining.set(len(self._state.relays) if self._state else 0)
        return plan

    async def _act(
        self, plan: pol.Plan, before: pol.ScaleDown | None, current: int, rv: str
    ) -> None:
        why = f"autoscaler: {plan.reason}"
        for r in plan.undrain:
            await self._drains.undrain(r, why)
        if plan.state is not None and plan.state != before:
            rv = await self._sts.write_state(plan.state, rv)
        for r in plan.drain:
            try:
                await self._drains.drain(r, why)
            except PlazaError as exc:  # not live any more: it holds nobody
                _log.info("autoscaler drain skipped", relay=r, error=exc.detail)
        for relay_id, boot_id in plan.remark:
            await self._drains.remark(relay_id, boot_id)
        if plan.replicas is not None and plan.replicas != current:
            rv = await self._sts.scale(plan.replicas, rv)
            if self._m:
                self._m.scale_writes.labels("up" if plan.replicas > current else "down").inc()
        if plan.state is None and before is not None:
            await self._sts.write_state(None, rv)

    def _record(self, now: int, plan: pol.Plan, current: int, wanted: int, stable: int) -> None:
        last = self._decisions[-1] if self._decisions else None
        if last and (last.outcome, last.reason) == (plan.outcome, plan.reason):
            self._decisions[-1] = msgspec.structs.replace(
                last, last_at_ms=now, repeats=last.repeats + 1
            )
            return
        rec = DecisionRecord(
            at_ms=now,
            last_at_ms=now,
            repeats=1,
            outcome=plan.outcome,
            reason=plan.reason,
            current=current,
            wanted=wanted,
            stable=stable,
            replicas=plan.replicas,
            drained=list(plan.drain),
            undrained=list(plan.undrain),
            dry_run=self.dry_run,
        )
        self._decisions = [*self._decisions[-(HISTORY - 1) :], rec]
        _log.info(
            "autoscaler decision",
            outcome=plan.outcome,
            reason=plan.reason,
            current=current,
            wanted=wanted,
            stable=stable,
            replicas=plan.replicas,
            drain=list(plan.drain),
            remark=[r for r, _ in plan.remark],
            undrain=list(plan.undrain),
            dry_run=self.dry_run,
        )

    # --- the loop -----------------------------------------------------------
    async def run(self, interval_seconds: float) -> None:
        """Pass after pass until cancelled; hands the Lease back on the way out.
        The Lease is renewed at least every third of its duration even when
        passes are further apart (a pass renews it too, right before acting)."""
        tick = min(interval_seconds, self._elector.seconds / 3)
        loop = asyncio.get_running_loop()
        next_pass = loop.time()
        try:
            while True:
                if loop.time() >= next_pass:
                    await self.reconcile()
                    next_pass = loop.time() + interval_seconds
                elif not self.dry_run:
                    await self._renew()
                await asyncio.sleep(max(0.0, min(tick, next_pass - loop.time())))
        finally:
            if not self.dry_run:
                await asyncio.shield(self._elector.release())

    async def _renew(self) -> None:
        try:
            self._view = await self._elector.step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc)
