"""``GET /v1/ops/autoscaler``: what the relay autoscaler of this process sees and
decided (docs/autoscaler.md). Reads memory only; each control-plane process
answers for itself (``leader`` says whether it is the one acting)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import Provide

from plaza_control.autoscaler.reconciler import Reconciler, Status
from plaza_control.autoscaler.service import STATE_KEY, disabled_status
from plaza_control.models import Role
from plaza_control.routes.deps import Svc, operator_guard, services


class AutoscalerController(Controller):
    path = "/v1/ops"
    tags = ["ops"]
    guards = [operator_guard]
    security = [{"apiKey": []}]
    dependencies = {"svc": Provide(services, sync_to_thread=False)}

    @get("/autoscaler", opt={"role": Role.VIEWER}, summary="The relay autoscaler's view")
    async def autoscaler(self, svc: Svc, state: State) -> Status:
        """Enabled and dry-run, whether this process holds the Lease and who does,
        the current and wanted relay counts with the reason, the relays being
        drained for a scale-down, and the last decisions (newest first;
        consecutive repeats folded into ``repeats``)."""
        reconciler: Reconciler | None = getattr(state, STATE_KEY, None)
        if reconciler is None:
            return disabled_status(svc.settings)
        return reconciler.status(enabled=svc.settings.autoscaler_enabled)
