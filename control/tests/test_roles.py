"""Every ops endpoint refuses a missing key (401) and every role below the one it
needs (403), and lets the needed role through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from plaza_control.app import create_app
from plaza_control.models import Role
from plaza_control.settings import Settings

from .conftest import cleanup, make_settings
from .helpers import make_api_key
from .openapi_check import assert_declared

pytestmark = pytest.mark.asyncio(loop_scope="module")

UID = "u_00000000000000000001"
CID = "00000000-0000-4000-8000-000000000000"
V, M, A = Role.VIEWER, Role.MODERATOR, Role.ADMIN

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, Role]] = [
    ("GET", "/v1/ops/relays", None, V),
    ("GET", "/v1/ops/rooms", None, V),
    ("GET", "/v1/ops/users", None, V),
    ("GET", f"/v1/ops/users/{UID}", None, V),
    ("GET", f"/v1/ops/commands/{CID}", None, V),
    ("GET", "/v1/ops/commands", None, V),
    ("GET", "/v1/ops/autoscaler", None, V),
    ("GET", f"/v1/ops/users/{UID}/sessions", None, V),
    ("GET", "/v1/ops/bans", None, V),
    ("GET", "/v1/ops/rooms/lobby.1/members", None, V),
    ("GET", "/v1/ops/rooms/lobby.1/state", None, V),
    ("GET", "/v1/ops/worlds", None, V),
    ("GET", "/v1/ops/worlds/lobby", None, V),
    ("POST", f"/v1/ops/users/{UID}/ban", {"reason": "x"}, M),
    ("DELETE", f"/v1/ops/users/{UID}/ban", None, M),
    ("POST", f"/v1/ops/users/{UID}/mute", {"reason": "x"}, M),
    ("POST", f"/v1/ops/users/{UID}/unmute", {}, M),
    ("POST", "/v1/ops/rooms/lobby.1/kick", {"user_id": UID, "reason": "x"}, M),
    ("POST", "/v1/ops/rooms/lobby.1/close", {"reason": "x"}, M),
    ("POST", "/v1/ops/announce", {"scope": "everyone", "text": "hi"}, M),
    ("POST", "/v1/ops/relays/relay-a/drain", {"reason": "x"}, A),
    ("POST", "/v1/ops/relays/relay-a/undrain", {"reason": "x"}, A),
    ("GET", "/v1/ops/audit", None, A),
    ("POST", "/v1/ops/worlds", {"id": "lobby2", "name": "L"}, A),
    ("PUT", "/v1/ops/worlds/lobby", {"name": "L"}, A),
    ("DELETE", "/v1/ops/worlds/nope", None, A),
    ("GET", "/v1/ops/keys", None, A),
    ("POST", "/v1/ops/keys", {"name": "k", "role": "viewer"}, A),
    ("DELETE", "/v1/ops/keys/000000000000", None, A),
]


class Rig:
    def __init__(self, client: AsyncTestClient, keys: dict[Role, str]) -> None:  # type: ignore[type-arg]
        self.client = client
        self.keys = keys


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    settings: Settings = make_settings(Path(tmp_path_factory.mktemp("roles")))
    keys = {role: await make_api_key(settings, role) for role in Role}
    app = create_app(settings, background=False)
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        yield Rig(c, keys)
    await cleanup(settings)


def _ids(e: tuple[str, str, object, Role]) -> str:
    return f"{e[0]} {e[1]}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[_ids(e) for e in ENDPOINTS])
async def test_role_matrix(
    rig: Rig, endpoint: tuple[str, str, dict[str, Any] | None, Role]
) -> None:
    method, path, body, needed = endpoint

    async def call(headers: dict[str, str]) -> int:
        resp = await rig.client.request(method, path, json=body, headers=headers)
        assert_declared(method, path, resp.status_code, resp.headers.get("content-type"))
        return resp.status_code

    assert await call({}) == 401
    assert await call({"X-API-Key": "pk_000000000000_forged"}) == 401
    for role in Role:
        status = await call({"X-API-Key": rig.keys[role]})
        if role.allows(needed):
            assert status not in (401, 403), (role, status)
        else:
            assert status == 403, (role, status)
    # Bearer form works too.
    assert await call({"Authorization": f"Bearer {rig.keys[Role.VIEWER]}"}) == (
        403 if needed != Role.VIEWER else await call({"X-API-Key": rig.keys[Role.VIEWER]})
    )


async def test_refused_mutations_are_audited(rig: Rig) -> None:
    resp = await rig.client.get("/v1/ops/audit", headers={"X-API-Key": rig.keys[Role.ADMIN]})
    assert resp.status_code == 200
    refused = [e for e in resp.json()["items"] if e["status"] == 403]
    assert refused, "forbidden mutating calls must be in the audit log"
    assert all(e["result"] == "error" for e in refused)
