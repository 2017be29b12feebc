"""The API docs work offline: the Swagger UI page names only this server's URLs,
and those URLs serve the assets from the pinned wheel. The schema declares
security and problem statuses on every operation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from plaza_control.app import create_app
from plaza_control.settings import Settings

PROBLEM_STATUSES = {"400", "401", "403", "404", "409", "413", "415", "429", "503"}


@pytest.fixture
async def docs(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = create_app(settings, background=False)
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_swagger_page_uses_only_local_assets(
    docs: AsyncTestClient,  # type: ignore[type-arg]
    page: str,
) -> None:
    resp = await docs.get(page)
    assert resp.status_code == 200, resp.text
    html = resp.text
    urls = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", html)
    assert urls, html
    assert not re.search(r"https?://", html), "the docs page must not load anything remote"
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    for url in urls:
        assert url.startswith("/"), url
        asset = await docs.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500, url
    js = next(u for u in urls if u.endswith("swagger-ui-bundle.js"))
    assert "SwaggerUIBundle" in (await docs.get(js)).text


def _schema() -> dict[str, Any]:
    doc: dict[str, Any] = create_app(Settings(), background=False).openapi_schema.to_schema()
    return doc


def test_every_operation_declares_security_and_problems() -> None:
    doc = _schema()
    assert set(doc["components"]["securitySchemes"]) == {"apiKey", "session"}
    assert doc["components"]["securitySchemes"]["apiKey"]["name"].lower() == "x-api-key"
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["required"])
    ids = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ids.append(op["operationId"])
            assert re.fullmatch(r"[a-z]+[A-Za-z]+", op["operationId"]), op["operationId"]
            assert op.get("summary"), (method, path)
            protected = path.startswith(("/v1/ops", "/v1/join", "/v1/rooms"))
            if protected:
                assert op.get("security"), (method, path)
                assert {"401", "503"} <= set(op["responses"]), (method, path)
            if path.startswith("/v1/ops"):
                assert op["security"] == [{"apiKey": []}], (method, path)
                assert "403" in op["responses"], (method, path)
            if path == "/v1/join":
                assert op["security"] == [{"session": []}]
            for status, resp in op["responses"].items():
                if status in PROBLEM_STATUSES and path != "/readyz":
                    content = resp["content"]
                    assert list(content) == ["application/problem+json"], (method, path, status)
                    ref = content["application/problem+json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Problem"
            if "requestBody" in op:
                assert {"400", "413", "415"} <= set(op["responses"]), (method, path)
    ready = doc["paths"]["/readyz"]["get"]["responses"]["503"]["content"]
    assert list(ready) == ["application/json"], "/readyz answers its own body when not ready"
    assert len(ids) == len(set(ids))
    assert {s for ops in doc["paths"].values() for o in ops.values() for s in o["responses"]} >= (
        PROBLEM_STATUSES
    )
