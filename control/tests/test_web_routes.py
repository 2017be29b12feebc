"""The web app's static routes (``routes/web.py``) over a real folder like
``web/dist``: pages, hashed assets, content types, cache headers, no listing,
no escape from the folder, and nothing mounted without ``web_dir``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from plaza_control.app import create_app
from plaza_control.routes.web import web_routers
from plaza_control.settings import Settings

from .conftest import cleanup, make_settings

PAGE = "<!doctype html><title>Plaza</title><script src='/assets/world-ABC123.js'></script>"


def _dist(root: Path) -> Path:
    (root / "play").mkdir(parents=True)
    (root / "console").mkdir()
    (root / "assets" / "sub").mkdir(parents=True)
    (root / "play" / "index.html").write_text(PAGE)
    (root / "console" / "index.html").write_text("<!doctype html><title>Console</title>")
    (root / "assets" / "world-ABC123.js").write_text("console.log('plaza');")
    (root / "assets" / "world-ABC123.css").write_text("body{margin:0}")
    (root / "assets" / "sub" / "x.txt").write_text("x")
    (root.parent / "secret.txt").write_text("outside")
    return root


@pytest.fixture
async def web_client(tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    dist = _dist(tmp_path / "www" / "dist")
    settings = make_settings(tmp_path, web_dir=str(dist))
    app = create_app(settings, background=False)
    try:
        async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
            yield c
    finally:
        await cleanup(settings)


async def test_pages_are_html_and_revalidated(web_client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for path, title in [("/play/", "Plaza"), ("/console/", "Console")]:
        resp = await web_client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["content-type"].startswith("text/html"), path
        assert f"<title>{title}</title>" in resp.text
        assert resp.headers["cache-control"] == "no-cache"
        assert resp.headers["x-content-type-options"] == "nosniff"
        csp = resp.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
    resp = await web_client.get("/play/index.html")
    assert resp.status_code == 200
    assert resp.text == PAGE


async def test_head_of_pages_is_get_without_body(web_client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for path in ["/play/", "/console/", "/play/index.html", "/assets/world-ABC123.css"]:
        got = await web_client.get(path)
        resp = await web_client.head(path)
        assert resp.status_code == 200, (path, resp.status_code)
        assert resp.content == b""
        for header in ["content-type", "cache-control", "content-security-policy", "etag"]:
            assert resp.headers[header] == got.headers[header], (path, header)
        assert resp.headers["content-length"] == str(len(got.content))
    assert (await web_client.head("/play/missing.js")).status_code == 404


async def test_assets_typed_and_cached_for_good(web_client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    js = await web_client.get("/assets/world-ABC123.js")
    assert js.status_code == 200
    assert js.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
    assert "immutable" in js.headers["cache-control"]
    assert "max-age=31536000" in js.headers["cache-control"]
    css = await web_client.get("/assets/world-ABC123.css")
    assert css.headers["content-type"].startswith("text/css")
    head = await web_client.head("/assets/world-ABC123.js")
    assert head.status_code == 200
    assert head.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/assets/",  # a directory without index.html: no listing
        "/assets/sub",
        "/assets/sub/",
        "/play/missing.js",
        "/assets/../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/play/..%2f..%2fsecret.txt",
    ],
)
async def test_no_listing_no_escape(web_client: AsyncTestClient, path: str) -> None:  # type: ignore[type-arg]
    resp = await web_client.get(path)
    assert resp.status_code == 404, (path, resp.status_code, resp.text[:200])
    assert "outside" not in resp.text
    assert "x.txt" not in resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_not_mounted_without_web_dir(settings: Settings) -> None:
    app = create_app(settings, background=False)
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        assert (await c.get("/play/")).status_code == 404
        assert (await c.get("/console/")).status_code == 404


def test_missing_dirs_mount_nothing(tmp_path: Path) -> None:
    assert web_routers("") == []
    assert web_routers(str(tmp_path / "nope")) == []
    (tmp_path / "play").mkdir()
    paths = [r.path for r in web_routers(str(tmp_path))]
    assert paths == ["/play"]  # console/ and assets/ absent: not mounted


def test_setting_from_env() -> None:
    s = Settings.from_env({"PLAZA_WEB_DIR": "/srv/plaza/web"})
    assert s.web_dir == "/srv/plaza/web"
    assert Settings.from_env({}).web_dir == ""
