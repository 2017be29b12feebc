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
from plaza_control.errors import Forbidden, PlazaError, Unauthenticated
from plaza_control.models import ApiKey, AuditEntry, AuditFilter, Role
from plaza_control.repositories.base import ApiKeyRepository, AuditRepository
from plaza_control.services.players import sha256_hex

KEY_PREFIX = "pk_"


class ApiKeyService:
    """Keys look like ``pk_<12 hex id>_<43 char secret>``; only sha256 of the whole
    key is stored, so a database leak reveals no usable key."""

    def __init__(self, keys: ApiKeyRepository, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock

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
        return record

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
