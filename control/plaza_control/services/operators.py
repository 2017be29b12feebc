"""Operator API keys and the audit log."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from plaza_control.clock import Clock
from plaza_control.errors import Forbidden, PlazaError, Unauthenticated
from plaza_control.models import ApiKey, AuditEntry, Role
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
        self,
        actor: str,
        action: str,
        target: str,
        result: Literal["ok", "error"],
        status: int,
        detail: str,
    ) -> None:
        now = self._clock()
        await self._audit.append(
            AuditEntry(
                id=self._id(now),
                at_ms=now,
                actor=actor,
                action=action,
                target=target,
                result=result,
                status=status,
                detail=detail[:500],
            )
        )

    @asynccontextmanager
    async def action(self, actor: str, action: str, target: str) -> AsyncIterator[list[str]]:
        """Record one mutating call: ``ok`` when the block finishes, ``error`` with the
        problem status when it raises (the error propagates). The block may append a
        detail string to the yielded list."""
        detail: list[str] = []
        try:
            yield detail
        except PlazaError as exc:
            await self._record(actor, action, target, "error", exc.status, exc.detail)
            raise
        except Exception:
            await self._record(actor, action, target, "error", 500, "internal error")
            raise
        await self._record(actor, action, target, "ok", 200, "; ".join(detail))

    async def page(self, limit: int, before: str | None) -> list[AuditEntry]:
        return await self._audit.page(limit, before)
