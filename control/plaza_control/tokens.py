"""Join tickets (EdDSA, docs/tickets.md) and player session tokens (HS256).

Session tokens are verified on every join, so they are HMAC-signed with a secret
shared by the control plane processes: a session token is never accepted by a
relay (different algorithm, audience and keys).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence

import msgspec

from plaza_control.errors import Unauthenticated
from plaza_control.signing_keys import KeyRing

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
        room_lifetime: int,
        muted_until_ms: int = 0,
        resume_session_id: str | None = None,
    ) -> Ticket:
        """``room_lifetime`` becomes ``rlt`` (required, >= 1); ``muted_until_ms`` > 0
        becomes ``mut`` (docs/tickets.md)."""
        if room_lifetime < 1:
            raise ValueError("a ticket needs a room lifetime >= 1")
        key = self._ring().signing
        jti = secrets.token_hex(16)  # 128 random bits; uuid4 costs 5x as much
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
            "rlt": room_lifetime,
        }
        if muted_until_ms > 0:
            claims["mut"] = muted_until_ms
        if resume_session_id:
            claims["sid"] = resume_session_id
        # A compact JWS by hand (it is three base64url parts): pyjwt adds ~30 %
        # to the cost of the signature itself on the hot path.
        header = _b64(msgspec.json.encode({"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}))
        signing_input = header + b"." + _b64(msgspec.json.encode(claims))
        token = signing_input + b"." + _b64(key.sign(signing_input))
        return Ticket(token=token.decode("ascii"), jti=jti, expires_at=exp)


class SessionClaims(msgspec.Struct, frozen=True):
    sub: str
    name: str
    exp: int
    sid: str


class _SessionPayload(msgspec.Struct, frozen=True):
    iss: str
    aud: str
    sub: str
    name: str
    iat: int
    exp: int
    sid: str


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


class SessionTokens:
    """Issues and verifies short-lived player session tokens: HS256 JWTs with one
    fixed header. Verification runs on every join, so it is done directly (exact
    header match, constant-time HMAC compare, strict claim decoding) rather than
    through a general JWT library; the tokens remain standard JWTs."""

    _HEADER = _b64(b'{"alg":"HS256","typ":"JWT"}')

    def __init__(self, secret: bytes, issuer: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, name: str, now: int) -> tuple[str, int]:
        exp = now + self.ttl_seconds
        payload = _SessionPayload(
            iss=self._issuer,
            aud=SESSION_AUDIENCE,
            sub=user_id,
            name=name,
            iat=now,
            exp=exp,
            sid=secrets.token_hex(8),
        )
        signing_input = self._HEADER + b"." + _b64(msgspec.json.encode(payload))
        sig = hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        return (signing_input + b"." + _b64(sig)).decode("ascii"), exp

    def verify(self, token: str, now: float | None = None) -> SessionClaims:
        bad = Unauthenticated("invalid or expired session token")
        try:
            raw = token.encode("ascii")
            header, payload, sig = raw.split(b".")
        except (UnicodeEncodeError, ValueError):
            raise bad from None
        if not hmac.compare_digest(header, self._HEADER):
            raise bad
        expected = hmac.new(self._secret, header + b"." + payload, hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(sig)):
                raise bad
            claims = msgspec.json.decode(_unb64(payload), type=_SessionPayload)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise bad from None
        if claims.iss != self._issuer or claims.aud != SESSION_AUDIENCE:
            raise bad
        if claims.exp <= (time.time() if now is None else now):
            raise bad
        return SessionClaims(sub=claims.sub, name=claims.name, exp=claims.exp, sid=claims.sid)
