"""Verification of external identity tokens (JWT) against the issuer's JWKS."""

from __future__ import annotations

import time
from typing import Any

import jwt
import msgspec

from plaza_control.errors import Unauthenticated
from plaza_control.repositories.identity import JwksSource


class Identity(msgspec.Struct, frozen=True):
    issuer: str
    subject: str
    name: str


class IdentityVerifier:
    """Checks signature, ``iss``, ``aud``, ``exp`` (and ``nbf``/``iat`` when present).

    Keys are cached; a token naming an unknown ``kid`` triggers one refetch at most
    every ``refetch_seconds`` so a flood of forged kids cannot hammer the issuer.
    """

    def __init__(
        self,
        source: JwksSource,
        issuer: str,
        audience: str,
        algorithms: list[str],
        refetch_seconds: float = 10.0,
        leeway_seconds: int = 5,
    ) -> None:
        self._source = source
        self._issuer = issuer
        self._audience = audience
        self._algorithms = algorithms
        self._refetch = refetch_seconds
        self._leeway = leeway_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")

    async def _load(self) -> None:
        doc = await self._source.fetch()
        self._fetched_at = time.monotonic()
        keys: dict[str, jwt.PyJWK] = {}
        for raw in doc.get("keys", []):
            if not isinstance(raw, dict) or not isinstance(raw.get("kid"), str):
                continue
            try:
                keys[raw["kid"]] = jwt.PyJWK.from_dict(raw)
            except (jwt.PyJWTError, ValueError, KeyError, TypeError):
                continue
        self._keys = keys

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys and time.monotonic() - self._fetched_at >= self._refetch:
            await self._load()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("identity token signed by an unknown key")
        return key

    async def verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed identity token") from exc
        kid = header.get("kid")
        alg = header.get("alg")
        if not isinstance(kid, str) or alg not in self._algorithms:
            raise Unauthenticated("identity token has no kid or a refused algorithm")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"identity token refused: {type(exc).__name__}") from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise Unauthenticated("identity token has an invalid subject")
        name = claims.get("name") or claims.get("preferred_username") or ""
        return Identity(
            issuer=self._issuer, subject=sub, name=name if isinstance(name, str) else ""
        )
