"""Join tickets (EdDSA, docs/tickets.md) and player session tokens (HS256).

Session tokens are verified on every join, so they are HMAC-signed with a secret
shared by the control plane processes: a session token is never accepted by a
relay (different algorithm, audience and keys).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence

import jwt
import msgspec

from plaza_control.errors import Unauthenticated
from plaza_control.keys import KeyRing

SESSION_AUDIENCE = "plaza-session"


class Ticket(msgspec.Struct, frozen=True):
    token: str
    jti: str
    expires_at: int


class TicketMinter:
    """Signs join tickets with the current key of a ``KeyRing`` supplier."""

    def __init__(self, ring: Callable[[], KeyRing], issuer: str, ttl_seconds: int) -> None:
        self._ring = ring
        self._issuer = issuer
        self._ttl = ttl_seconds

    def mint(
        self,
        *,
        user_id: str,
        relay_id: str,
        room_id: str,
        world_id: str,
        world_version: int,
        name: str,
        perms: Sequence[str],
        now: int,
        resume_session_id: str | None = None,
    ) -> Ticket:
        key = self._ring().signing
        jti = str(uuid.uuid4())
        exp = now + self._ttl
        claims: dict[str, object] = {
            "iss": self._issuer,
            "sub": user_id,
            "aud": relay_id,
            "room": room_id,
            "world": world_id,
            "wcv": world_version,
            "name": name,
            "perms": list(perms),
            "iat": now,
            "exp": exp,
            "jti": jti,
        }
        if resume_session_id:
            claims["sid"] = resume_session_id
        token = jwt.encode(
            claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": "JWT"}
        )
        return Ticket(token=token, jti=jti, expires_at=exp)


class SessionClaims(msgspec.Struct, frozen=True):
    sub: str
    name: str
    exp: int
    sid: str


class SessionTokens:
    """Issues and verifies short-lived player session tokens."""

    def __init__(self, secret: bytes, issuer: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, name: str, now: int) -> tuple[str, int]:
        exp = now + self.ttl_seconds
        claims = {
            "iss": self._issuer,
            "aud": SESSION_AUDIENCE,
            "sub": user_id,
            "name": name,
            "iat": now,
            "exp": exp,
            "sid": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256"), exp

    def verify(self, token: str) -> SessionClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=SESSION_AUDIENCE,
                issuer=self._issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
            return msgspec.convert(claims, SessionClaims)
        except (jwt.PyJWTError, msgspec.ValidationError) as exc:
            raise Unauthenticated("invalid or expired session token") from exc
