"""Operator API keys and the audit log."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import msgspec
from structlog.contextvars import get_contextvars

from plaza_control.clock import Clock
from plaza_control.errors import Forbidden, NotFound, PlazaError, Unauthenticated
from plaza_control.models import ApiKey, AuditEntry, AuditFilter, Role
from plaza_control.repositories.base import ApiKeyRepository, AuditRepository
from plaza_control.services.players import sha256_hex

KEY_PREFIX = "pk_"


class ApiKeyService:
    """Keys look like ``pk_<12 hex id>_<43 char secret>``; only sha256 of the whole
    key is stored, so a database leak reveals no usable key (a 256-bit random
    secret needs no slow hash). The key itself is returned once, by ``create``.

    Every request reads the key's record (no per-process cache), so a revocation
    holds on every control-plane process from the next request on. ``last_used``
    is written at most once per ``TOUCH_INTERVAL_MS`` per key and process."""

    TOUCH_INTERVAL_MS = 60_000

    def __init__(
        self, keys: ApiKeyRepository, clock: Clock, auditor: Auditor | None = None
    ) -> None:
        self._keys = keys
        self._clock = clock
        #: Records the API's create and revoke (the CLI's ``create-api-key`` is not).
        self._audit = auditor or Auditor(_NoAudit(), clock)
        #: key id -> when this process last wrote its ``last_used_at_ms``.
        self._touched: dict[str, int] = {}

    async def create(self, role: Role, name: str) -> tuple[str, ApiKey]:
        key_id = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(
            id=key_id, name=name, role=role, hash=sha256_hex(key), created_at_ms=self._clock()
        )
        await self._keys.insert(record)
        return key, record

    async def authenticate(self, presented: str) -> ApiKey:
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] + "_" != KEY_PREFIX or len(parts[1]) != 12:
            raise Unauthenticated("malformed API key")
        record = await self._keys.get(parts[1])
        if (
            record is None
            or record.revoked
            or not hmac.compare_digest(record.hash, sha256_hex(presented))
        ):
            raise Unauthenticated("unknown or revoked API key")
        await self._touch(record)
        return record

    async def _touch(self, record: ApiKey) -> None:
        now = self._clock()
        last = max(self._touched.get(record.id, 0), record.last_used_at_ms)
        if now - last < self.TOUCH_INTERVAL_MS:
            return
        self._touched[record.id] = now
        await self._keys.touch(record.id, now)

    async def all(self) -> list[ApiKey]:
        return await self._keys.all()

    async def issue(self, actor: ApiKey, role: Role, name: str) -> tuple[str, ApiKey]:
        """``create`` on behalf of an operator, audited (never with the key)."""
        async with self._audit.action(actor, "key.create", name, ok_status=201) as detail:
            key, record = await self.create(role, name)
            detail.append(f"id={record.id} role={record.role.value}")
        return key, record

    async def revoke(self, actor: ApiKey, key_id: str) -> None:
        """Audited and idempotent; ``NotFound`` for an unknown id."""
        async with self._audit.action(actor, "key.revoke", key_id, ok_status=204):
            if not await self._keys.revoke(key_id):
                raise NotFound(f"API key {key_id} not found")

    @staticmethod
    def require(key: ApiKey, role: Role) -> None:
        if not key.role.allows(role):
            raise Forbidden(f"requires role {role.value}; this key is {key.role.value}")


class Auditor:
    def __init__(self, audit: AuditRepository, clock: Clock) -> None:
        self._audit = audit
        self._clock = clock

    def _id(self, now: int) -> str:
        return f"{now:013d}-{secrets.token_hex(4)}"

    async def _record(
        self, base: AuditEntry, result: Literal["ok", "error"], status: int, detail: str
    ) -> None:
        now = self._clock()
        rid = get_contextvars().get("request_id")
        await self._audit.append(
            msgspec.structs.replace(
                base,
                id=self._id(now),
                at_ms=now,
                result=result,
                status=status,
                detail=detail[:500],
                request_id=rid if isinstance(rid, str) else "",
            )
        )

    @asynccontextmanager
    async def action(
        self,
        actor: str | ApiKey,
        action: str,
        target: str,
        *,
        ok_status: int = 200,
        reason: str = "",
        duration_seconds: int | None = None,
    ) -> AsyncIterator[list[str]]:
        """Record one mutating call: ``ok`` with ``ok_status`` (the HTTP status the
        route answers with) when the block finishes, ``error`` with the problem
        status when it raises (the error propagates). The block may append a
        detail string to the yielded list. The request id is the one bound in
        the log context by the observability middleware."""
        base = AuditEntry(
            id="",
            at_ms=0,
            actor=actor.id if isinstance(actor, ApiKey) else actor,
            actor_name=actor.name if isinstance(actor, ApiKey) else "",
            action=action,
            target=target,
            result="ok",
            status=0,
            reason=reason,
            duration_seconds=duration_seconds,
        )
        detail: list[str] = []
        try:
            yield detail
        except PlazaError as exc:
            await self._record(base, "error", exc.status, exc.detail)
            raise
        except Exception:
            await self._record(base, "error", 500, "internal error")
            raise
        await self._record(base, "ok", ok_status, "; ".join(detail))

    async def page(
        self, limit: int, before: str | None, where: AuditFilter | None = None
    ) -> list[AuditEntry]:
        return await self._audit.page(limit, before, where)


class _NoAudit:
    """The audit log of an ``ApiKeyService`` built without one (tests, tools)."""

    async def append(self, entry: AuditEntry) -> None:
        return None

    async def page(
        self, limit: int, before: str | None, where: AuditFilter | None = None
    ) -> list[AuditEntry]:
        return []
