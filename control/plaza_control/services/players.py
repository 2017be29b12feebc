"""Player sign-in: guest/device and external identity; sessions and refresh tokens."""

from __future__ import annotations

import hashlib
import secrets

import msgspec

from plaza_control import validation
from plaza_control.clock import Clock
from plaza_control.errors import Banned, InvalidInput, RateLimited, Unauthenticated, Unavailable
from plaza_control.models import Ban, RefreshRecord, User
from plaza_control.repositories.base import (
    BanReader,
    RateLimiter,
    RefreshTokenRepository,
    UserRepository,
)
from plaza_control.services.identity import IdentityVerifier
from plaza_control.tokens import SessionTokens


class SignInLimits(msgspec.Struct, frozen=True):
    window_ms: int
    per_ip: int
    per_device: int


class SignedIn(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    display_name: str
    session_token: str
    session_expires_at: int
    refresh_token: str
    refresh_expires_at: int
    created: bool


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_user_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "u_" + "".join(secrets.choice(alphabet) for _ in range(20))


def ban_detail(ban: Ban) -> dict[str, object]:
    return {"reason": ban.reason, "until_ms": ban.until_ms}


class PlayerService:
    def __init__(
        self,
        *,
        users: UserRepository,
        bans: BanReader,
        refresh_tokens: RefreshTokenRepository,
        sessions: SessionTokens,
        identity: IdentityVerifier | None,
        limiter: RateLimiter,
        limits: SignInLimits,
        refresh_ttl_ms: int,
        clock: Clock,
    ) -> None:
        self._users = users
        self._bans = bans
        self._refresh = refresh_tokens
        self._sessions = sessions
        self._identity = identity
        self._limiter = limiter
        self._limits = limits
        self._refresh_ttl_ms = refresh_ttl_ms
        self._clock = clock

    async def _limit(self, buckets: list[tuple[str, str, int]]) -> None:
        wait = await self._limiter.hit(buckets, self._limits.window_ms)
        if wait is not None:
            raise RateLimited("too many sign-in attempts", retry_after=max(1, (wait + 999) // 1000))

    async def _check_ban(self, user_id: str) -> None:
        ban = await self._bans.get(user_id)
        if ban is not None and ban.active(self._clock()):
            raise Banned("this account is banned", extra=ban_detail(ban))

    async def _issue(self, user: User, created: bool, family: str | None = None) -> SignedIn:
        now_ms = self._clock()
        token, exp = self._sessions.issue(user.id, user.display_name, now_ms // 1000)
        refresh = "rt_" + secrets.token_urlsafe(32)
        record = RefreshRecord(
            hash=sha256_hex(refresh),
            family=family or secrets.token_hex(16),
            user_id=user.id,
            created_at_ms=now_ms,
            expires_at_ms=now_ms + self._refresh_ttl_ms,
        )
        await self._refresh.insert(record)
        return SignedIn(
            user_id=user.id,
            display_name=user.display_name,
            session_token=token,
            session_expires_at=exp,
            refresh_token=refresh,
            refresh_expires_at=record.expires_at_ms // 1000,
            created=created,
        )

    async def guest(self, device_id: str, display_name: str, ip: str) -> SignedIn:
        device_hash = sha256_hex(device_id)
        await self._limit(
            [
                ("signin-ip", ip, self._limits.per_ip),
                ("signin-device", device_hash[:32], self._limits.per_device),
            ]
        )
        name = validation.display_name(display_name)
        # ``create`` answers "is this device known?": the container's user
        # repository reads the Redis user cache first (a returning device costs
        # no MongoDB read), then inserts; MongoDB's unique index on device_hash
        # turns the insert of a known device into its existing user. Looking up
        # MongoDB first costs a miss for every new device, and on FerretDB
        # (SQLite) a lookup by a field other than _id scans the whole collection
        # (~150 ms each at 3,000 users, the W3 join-storm limit).
        candidate = User(
            id=new_user_id(),
            display_name=name,
            kind="guest",
            created_at_ms=self._clock(),
            device_hash=device_hash,
        )
        user = await self._users.create(candidate)
        created = user.id == candidate.id
        await self._check_ban(user.id)
        return await self._issue(user, created)

    async def external(self, id_token: str, display_name: str | None, ip: str) -> SignedIn:
        await self._limit([("signin-ip", ip, self._limits.per_ip)])
        if self._identity is None:
            raise Unavailable("external sign-in is not configured")
        ident = await self._identity.verify(id_token)
        key = f"{ident.issuer}|{ident.subject}"
        # Per user as well as per IP: the subject is only known once verified.
        await self._limit([("signin-subject", sha256_hex(key)[:32], self._limits.per_device)])
        user = await self._users.by_external(key)
        created = user is None
        if user is None:
            raw = display_name if display_name is not None else ident.name
            try:
                name = validation.display_name(raw)
            except InvalidInput:
                if display_name is not None:
                    raise
                name = f"player-{sha256_hex(key)[:8]}"
            user = await self._users.create(
                User(
                    id=new_user_id(),
                    display_name=name,
                    kind="external",
                    created_at_ms=self._clock(),
                    external_key=key,
                )
            )
        await self._check_ban(user.id)
        return await self._issue(user, created)

    async def refresh(self, refresh_token: str, ip: str) -> SignedIn:
        """Rotate: the presented token is spent; presenting a spent token again
        revokes its whole family (it was stolen or replayed)."""
        await self._limit([("signin-ip", ip, self._limits.per_ip)])
        token_hash = sha256_hex(refresh_token)
        record = await self._refresh.claim(token_hash, self._clock())
        if record is None:
            known = await self._refresh.get(token_hash)
            if known is not None and known.rotated and not known.revoked:
                await self._refresh.revoke_family(known.family)
            raise Unauthenticated("refresh token is invalid, expired, spent or revoked")
        user = await self._users.get(record.user_id)
        if user is None:
            raise Unauthenticated("user no longer exists")
        await self._check_ban(user.id)
        return await self._issue(user, False, family=record.family)

    async def logout(self, refresh_token: str) -> None:
        known = await self._refresh.get(sha256_hex(refresh_token))
        if known is not None:
            await self._refresh.revoke_family(known.family)
