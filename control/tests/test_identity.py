"""External identity sign-in against a real JWKS HTTP endpoint on 127.0.0.1."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from litestar.testing import AsyncTestClient

from plaza_control.app import create_app

from .conftest import cleanup, make_settings

ISSUER = "https://idp.test.invalid/"
AUDIENCE = "plaza-game"


@functools.cache
def rsa_key(n: int) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make; make each of the two once per run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Idp:
    def __init__(self) -> None:
        self.key = rsa_key(0)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": "idp-1", "alg": "RS256", "use": "sig"})
        self.jwks = json.dumps({"keys": [jwk]}).encode()
        self.hits = 0

    def token(
        self, key: Any = None, kid: str = "idp-1", alg: str = "RS256", **overrides: Any
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "player-42",
            "name": "Ada",
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or self.key, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[Idp, str]]:
    provider = Idp()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.hits += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(provider.jwks)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def idp_client(tmp_path: Path, idp: tuple[Idp, str]) -> AsyncIterator[Any]:
    settings = make_settings(
        tmp_path, identity_issuer=ISSUER, identity_audience=AUDIENCE, identity_jwks_url=idp[1]
    )
    async with AsyncTestClient(
        create_app(settings, background=False), base_url="http://127.0.0.1"
    ) as c:
        yield c
    await cleanup(settings)


async def test_valid_identity_token_signs_in(idp: tuple[Idp, str], idp_client: Any) -> None:
    provider, _ = idp
    first = await idp_client.post("/v1/auth/external", json={"id_token": provider.token()})
    assert first.status_code == 200, first.text
    assert first.json()["display_name"] == "Ada"
    assert first.json()["created"] is True
    again = await idp_client.post(
        "/v1/auth/external", json={"id_token": provider.token(name="Other")}
    )
    assert again.json()["user_id"] == first.json()["user_id"]
    assert again.json()["created"] is False
    hits = provider.hits
    await idp_client.post("/v1/auth/external", json={"id_token": provider.token()})
    assert provider.hits == hits  # keys are cached


def _refused_tokens(provider: Idp) -> dict[str, str]:
    other = rsa_key(1)
    now = int(time.time())
    header, payload, _sig = provider.token().split(".")
    return {
        "forged": provider.token(key=other),
        "expired": provider.token(iat=now - 600, exp=now - 300),
        "wrong-issuer": provider.token(iss="https://evil.test.invalid/"),
        "wrong-audience": provider.token(aud="another-game"),
        "no-exp": provider.token(exp=None),
        "unknown-kid": provider.token(kid="idp-unknown"),
        "hs256-with-public-key": jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60},
            "secret-that-is-long-enough-for-hs256-32b",
            algorithm="HS256",
            headers={"kid": "idp-1"},
        ),
        "alg-none": jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60},
            "",
            algorithm="none",
            headers={"kid": "idp-1"},
        ),
        "tampered-payload": f"{header}.{payload[:-2]}AA.{_sig}",
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize(
    "case",
    [
        "forged",
        "expired",
        "wrong-issuer",
        "wrong-audience",
        "no-exp",
        "unknown-kid",
        "hs256-with-public-key",
        "alg-none",
        "tampered-payload",
        "garbage",
    ],
)
async def test_bad_identity_tokens_are_refused(
    idp: tuple[Idp, str], idp_client: Any, case: str
) -> None:
    token = _refused_tokens(idp[0])[case]
    resp = await idp_client.post("/v1/auth/external", json={"id_token": token})
    assert resp.status_code == 401, (case, resp.text)
    assert resp.json()["type"] == "urn:plaza:problem:unauthenticated"


async def test_external_sign_in_disabled_without_config(client: Any) -> None:
    resp = await client.post("/v1/auth/external", json={"id_token": "a.b.c"})
    assert resp.status_code == 503


async def test_external_sign_in_is_rate_limited_per_subject(
    tmp_path: Path, idp: tuple[Idp, str]
) -> None:
    settings = make_settings(
        tmp_path,
        identity_issuer=ISSUER,
        identity_audience=AUDIENCE,
        identity_jwks_url=idp[1],
        signin_per_device=2,
    )
    try:
        async with AsyncTestClient(
            create_app(settings, background=False), base_url="http://127.0.0.1"
        ) as c:
            codes = [
                (await c.post("/v1/auth/external", json={"id_token": idp[0].token()})).status_code
                for _ in range(3)
            ]
            other = await c.post(
                "/v1/auth/external", json={"id_token": idp[0].token(sub="player-43")}
            )
        assert codes == [200, 200, 429]
        assert other.status_code == 200
    finally:
        await cleanup(settings)
