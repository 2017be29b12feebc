"""Property-based fuzzing of the served OpenAPI schema: no input makes a 5xx, and
every answer's status and content type are declared for its operation (the schema
is true to what the server does).

A real server process on 127.0.0.1 with live relays, a world, an admin API key
and a player session, so generated requests get past authentication and reach
the services. Examples per operation are bounded to keep the suite fast."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from plaza_control.keyspace import Keyspace
from plaza_control.models import Role

from .conftest import cleanup, make_settings
from .helpers import (
    free_port,
    make_api_key,
    relay,
    server_process,
    session_token,
    user_id,
    write_heartbeat,
)
from .openapi_check import app_schema, assert_declared

MAX_EXAMPLES = int(os.environ.get("PLAZA_FUZZ_EXAMPLES", "20"))


class Api:
    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base = base
        self.headers = headers


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    jwks = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyJwks)
    threading.Thread(target=jwks.serve_forever, daemon=True).start()
    settings = make_settings(
        Path(tmp_path_factory.mktemp("fuzz")),
        port=free_port(),
        join_per_user=100_000,
        signin_per_device=100_000,
        identity_issuer="https://idp.test.invalid/",
        identity_audience="plaza",
        identity_jwks_url=f"http://127.0.0.1:{jwks.server_address[1]}/jwks.json",
    )

    async def prepare() -> str:
        r = aioredis.Redis.from_url(settings.redis_url)
        keyspace = Keyspace(settings.redis_prefix)
        for rid in ("relay-a", "relay-b"):
            await write_heartbeat(r, keyspace, relay(rid), ttl_ms=600_000)
        await r.aclose()
        return await make_api_key(settings, Role.ADMIN)

    admin = asyncio.run(prepare())
    with server_process(settings) as base:
        resp = httpx.post(
            f"{base}/v1/ops/worlds",
            json={"id": "lobby", "name": "Lobby"},
            headers={"X-API-Key": admin},
        )
        assert resp.status_code == 201
        headers = {
            "X-API-Key": admin,
            "Authorization": f"Bearer {session_token(settings, user_id(1))}",
        }
        yield Api(base, headers)
    asyncio.run(cleanup(settings))
    jwks.shutdown()
    jwks.server_close()


class _EmptyJwks(BaseHTTPRequestHandler):
    """A reachable identity provider with no keys: every token is refused (401)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"keys": []}')

    def log_message(self, format: str, *args: Any) -> None:
        return


#: The schema the app serves; test_served_schema_is_the_fuzzed_one checks the
#: server really serves it.
APP_SCHEMA = app_schema()
schema = schemathesis.openapi.from_dict(APP_SCHEMA)


def test_served_schema_is_the_fuzzed_one(api: Api) -> None:
    served = httpx.get(f"{api.base}/schema/openapi.json").json()
    assert served == APP_SCHEMA


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    derandomize=True,
)
def test_no_server_errors(case: Any, api: Api) -> None:
    response = case.call(base_url=api.base, headers=api.headers, timeout=10)
    ctype = response.headers.get("content-type")
    assert_declared(case.method, case.path, response.status_code, ctype[0] if ctype else None)
    if response.status_code == 503 and response.headers.get("retry-after"):
        # The one documented 5xx a client can cause: the fuzzer may drain every
        # relay (admin key), after which joins answer "no relay, retry later".
        assert response.json()["type"] == "urn:plaza:problem:no-relay", response.text
        return
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )
    if response.status_code >= 400:
        # Every refusal is a problem (RFC 9457); test_bad_input.py covers bodies
        # the schema does not describe.
        assert response.headers["content-type"] == ["application/problem+json"], response.text
        assert response.json()["status"] == response.status_code, response.text
