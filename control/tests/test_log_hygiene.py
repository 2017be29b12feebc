"""Log lines are ECS JSON (stdlib ones too) and never hold a secret."""

from __future__ import annotations

import json
import logging
import logging.config
import secrets
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import structlog
from litestar.testing import AsyncTestClient

from plaza_control.app import create_app
from plaza_control.keyspace import Keyspace
from plaza_control.models import Role
from plaza_control.observability import configure_logging, uvicorn_log_config

from .conftest import cleanup, make_settings
from .helpers import make_api_key, relay, write_heartbeat


def _lines(out: str) -> list[dict[str, Any]]:
    lines = []
    for line in out.splitlines():
        if line.strip():
            obj = json.loads(line, object_pairs_hook=_unique)
            assert obj["service.name"] == "plaza-control", line
            assert obj["@timestamp"].endswith("Z"), line
            assert {"log.level", "message"} <= obj.keys(), line
            lines.append(obj)
    return lines


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    assert len({k for k, _ in pairs}) == len(pairs), f"duplicated key in {pairs}"
    return dict(pairs)


def test_structlog_and_stdlib_lines_share_the_ecs_shape(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info")
    structlog.contextvars.bind_contextvars(request_id="rid-1")
    try:
        structlog.get_logger("t").info("hello", room="r1", error="RedisError: gone")
        logging.getLogger("some.library").warning("plain %s", "text")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("some.library").exception("failed")
    finally:
        structlog.contextvars.clear_contextvars()
    first, second, third = _lines(capsys.readouterr().out)
    assert first["message"] == "hello"
    assert first["log.level"] == "info"
    assert first["trace.id"] == "rid-1"
    assert first["room"] == "r1"
    assert first["error.message"] == "RedisError: gone"
    assert "error" not in first
    assert second["message"] == "plain text"
    assert second["log.level"] == "warn"
    assert second["log.logger"] == "some.library"
    assert "ValueError: boom" in third["error.stack_trace"]


def test_log_levels_are_the_relays_four(capsys: pytest.CaptureFixture[str]) -> None:
    """``log.level`` is debug, info, warn or error on both programs (relay-go
    ecslog's TestLevelsAreFour holds the relay to the same four)."""
    configure_logging("debug")
    log = structlog.get_logger("t")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.warn("w2")
    log.error("e")
    log.critical("c")
    lib = logging.getLogger("some.library")
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        lib.log(level, "stdlib")
    levels = [line["log.level"] for line in _lines(capsys.readouterr().out)]
    structlog_levels = ["debug", "info", "warn", "warn", "error", "error"]
    stdlib_levels = ["debug", "info", "warn", "error", "error"]
    assert levels == structlog_levels + stdlib_levels
    configure_logging("info")


def test_uvicorn_log_config_makes_its_lines_json(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(uvicorn_log_config("info"))
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    [line] = _lines(capsys.readouterr().out)
    assert line["message"] == "Started server process [42]"
    assert line["log.logger"] == "uvicorn.error"


async def test_a_full_flow_logs_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = secrets.token_urlsafe(32)
    settings = make_settings(tmp_path, access_log=True, log_level="debug", session_secret=secret)
    try:
        admin = await make_api_key(settings, Role.ADMIN)
        r = aioredis.Redis.from_url(settings.redis_url)
        try:
            await write_heartbeat(r, Keyspace(settings.redis_prefix), relay("relay-a"))
        finally:
            await r.aclose()
        capsys.readouterr()
        app = create_app(settings, background=False)
        key = {"X-API-Key": admin}
        async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
            resp = await c.post(
                "/v1/ops/worlds",
                json={"id": "lobby", "name": "Lobby", "settings": {"room_capacity": 4}},
                headers=key,
            )
            assert resp.status_code == 201, resp.text
            signed = (
                await c.post(
                    "/v1/auth/guest",
                    json={"device_id": "device-0123456789abcdef", "display_name": "Log"},
                )
            ).json()
            refreshed = (
                await c.post("/v1/auth/refresh", json={"refresh_token": signed["refresh_token"]})
            ).json()
            replay = await c.post(
                "/v1/auth/refresh", json={"refresh_token": signed["refresh_token"]}
            )
            assert replay.status_code == 401
            bearer = {"Authorization": f"Bearer {refreshed['session_token']}"}
            joined = await c.post("/v1/join", json={"world_id": "lobby"}, headers=bearer)
            assert joined.status_code == 200, joined.text
            ticket = joined.json()["ticket"]
            assert (await c.get("/v1/ops/rooms", headers=key)).status_code == 200
            assert (
                await c.get("/v1/ops/rooms", headers={"X-API-Key": admin[::-1]})
            ).status_code == 401
            bad = {"Authorization": f"Bearer {signed['session_token']}x"}
            assert (
                await c.post("/v1/join", json={"world_id": "lobby"}, headers=bad)
            ).status_code == 401
        out = capsys.readouterr().out
        lines = _lines(out)
        assert any(line["message"] == "request" for line in lines)
        pem = next((tmp_path / "keys").glob("*.pem")).read_text()
        pem_body = "".join(ln for ln in pem.splitlines() if not ln.startswith("-----"))
        found = {
            "session token": signed["session_token"],
            "refreshed session token": refreshed["session_token"],
            "refresh token": signed["refresh_token"],
            "rotated refresh token": refreshed["refresh_token"],
            "ticket": ticket,
            "api key": admin,
            "signing key": pem_body,
            "session secret": secret,
        }
        leaked = [name for name, value in found.items() if value in out or value[:24] in out]
        assert leaked == []
    finally:
        await cleanup(settings)
