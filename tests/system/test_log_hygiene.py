"""Both programs write only JSON log lines with ECS names, and never a secret,
through a representative flow: sign-in, refresh, join, a relay join with the
ticket (and its replay), ops calls with an API key (good and bad), a kick."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from pathlib import Path

import httpx

from .cluster import Cluster
from .logscan import json_lines, leaks, pem_body
from .player import Player


class VerboseCluster(Cluster):
    """Access log on and debug level: the most a control plane ever writes."""

    def control_env(self) -> dict[str, str]:
        return super().control_env() | {"PLAZA_ACCESS_LOG": "true", "PLAZA_LOG_LEVEL": "debug"}


async def _flow(cluster: Cluster) -> dict[str, str]:
    control = cluster.controls[0].url
    key = {"x-api-key": cluster.admin_key}
    async with httpx.AsyncClient(timeout=20) as http:
        p = Player(control, "Hygiene")
        resp = await http.post(
            f"{control}/v1/auth/guest", json={"device_id": p.device_id, "display_name": "Hygiene"}
        )
        resp.raise_for_status()
        refresh = resp.json()["refresh_token"]
        resp = await http.post(f"{control}/v1/auth/refresh", json={"refresh_token": refresh})
        resp.raise_for_status()
        # The rotated-away token again: a 401 whose handling must not echo it.
        assert (
            await http.post(f"{control}/v1/auth/refresh", json={"refresh_token": refresh})
        ).status_code == 401
        new_refresh = resp.json()["refresh_token"]
        await p.sign_in(http)
        await p.join_and_connect(http)
        assert p.joined is not None
        ticket = p.joined.ticket
        # The used ticket again: the relay rejects it (and logs why, not what).
        replay = Player(control, "Replay", session_token=p.session_token, joined=p.joined)
        with contextlib.suppress(Exception):  # rejection is the point
            await replay.connect(within=3)
        await replay.close()
        await p.chat("hello from the log test")
        assert (await http.get(f"{control}/v1/ops/relays", headers=key)).status_code == 200
        bad = {"x-api-key": cluster.admin_key[::-1]}
        assert (await http.get(f"{control}/v1/ops/relays", headers=bad)).status_code == 401
        bearer = {"authorization": f"Bearer {p.session_token}x"}
        assert (
            await http.post(f"{control}/v1/join", json={"world_id": "lobby"}, headers=bearer)
        ).status_code == 401
        resp = await http.post(
            f"{control}/v1/ops/rooms/{p.joined.room_id}/kick",
            json={"user_id": p.user_id, "reason": "log test"},
            headers=key,
        )
        assert resp.status_code < 300, resp.text
        await p.wait_closed()
        await asyncio.sleep(1)  # let the relay and consumers log what followed
    return {
        "session token": p.session_token,
        "refresh token": refresh,
        "rotated refresh token": new_refresh,
        "ticket": ticket,
        "api key": cluster.admin_key,
    }


def test_logs_are_ecs_json_and_hold_no_secret(tmp_path: Path, relay_binary: Path) -> None:
    cluster = VerboseCluster(
        workdir=tmp_path,
        relay_binary=relay_binary,
        mongo_url=os.environ.get("PLAZA_MONGO_URL", "mongodb://127.0.0.1:27217/"),
    )
    cluster.prefix = f"t{uuid.uuid4().hex[:8]}:"
    cluster.mongo_db = f"plaza_sys_{uuid.uuid4().hex[:10]}"
    try:
        cluster.start_redis()
        cluster.control_cli("gen-signing-key")
        cluster.control_cli("create-world", "--id", "lobby", "--exist-ok")
        cluster.admin_key = cluster.control_cli(
            "create-api-key", "--role", "admin", "--name", "log-test"
        ).splitlines()[-1]
        cluster.start_control()
        cluster.start_relay()
        cluster.wait_relays_registered()
        found = asyncio.run(_flow(cluster))
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()
        shutil.rmtree(tmp_path / "redis", ignore_errors=True)

    keys = tmp_path / "keys"
    for pem in keys.glob("*.pem"):
        found[f"signing key {pem.name}"] = pem_body(pem.read_text())
    found["session secret"] = (keys / "session.secret").read_text().strip()
    assert any(k.startswith("signing key") for k in found)

    control_log = (tmp_path / "control-0.log").read_text()
    relay_log = (tmp_path / "relay-0.log").read_text()
    control_lines = json_lines("control-0.log", control_log, "plaza-control")
    relay_lines = json_lines("relay-0.log", relay_log, "plaza-relay")
    # uvicorn's own start-up and shutdown lines went through the JSON formatter.
    assert any(line.get("log.logger", "").startswith("uvicorn") for line in control_lines)
    assert any("trace.id" in line for line in control_lines)
    assert relay_lines
    for name, text in (("control", control_log), ("relay", relay_log)):
        assert leaks(text, found) == [], f"{name} log leaks a secret"


def test_the_scanner_finds_a_secret_and_a_piece_of_one() -> None:
    jwt = "eyJhbGciOiJFZERTQSJ9." + "a" * 40 + "." + "b" * 40
    assert leaks(f'{{"message": "x", "ticket": "{jwt}"}}', {"ticket": jwt}) == ["ticket"]
    assert leaks(f'{{"message": "{jwt[20:60]}"}}', {"ticket": jwt}) == ["ticket"]
    assert leaks('{"message": "nothing here"}', {"ticket": jwt}) == []
