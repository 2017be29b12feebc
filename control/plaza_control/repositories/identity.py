"""Where an external identity provider's JWKS comes from."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from plaza_control.errors import DependencyDown


class JwksSource(Protocol):
    async def fetch(self) -> dict[str, Any]:
        """The issuer's JWKS document. Raises ``DependencyDown`` when unreachable."""
        ...


class HttpJwksSource:
    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._url = url

    async def fetch(self) -> dict[str, Any]:
        try:
            resp = await self._client.get(self._url)
            resp.raise_for_status()
            doc = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DependencyDown("identity provider JWKS unreachable") from exc
        if not isinstance(doc, dict):
            raise DependencyDown("identity provider JWKS is not an object")
        return doc
