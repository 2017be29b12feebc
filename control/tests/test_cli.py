"""The command line, run as a real subprocess: keys, API keys, worlds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import msgspec

from plaza_control import signing_keys
from plaza_control.settings import Settings

from .helpers import free_port, server_process, settings_env


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plaza_control", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_from_env_round_trip(settings: Settings) -> None:
    env = settings_env(settings)
    assert Settings.from_env(env) == settings


def test_bad_setting_is_reported(settings: Settings) -> None:
    bad = msgspec.structs.replace(settings)
    env = settings_env(bad) | {"PLAZA_PORT": "99999"}
    proc = subprocess.run(
        [sys.executable, "-m", "plaza_control", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "PLAZA_" in proc.stderr


def test_signing_keys_and_rotation(settings: Settings, tmp_path: Path) -> None:
    key_dir = tmp_path / "fresh"
    s = msgspec.structs.replace(settings, key_dir=str(key_dir), key_activation_seconds=0)
    first = run(s, "gen-signing-key")
    assert first.returncode == 0, first.stderr
    kid1 = first.stdout.strip()
    assert run(s, "gen-signing-key").stdout.strip() == kid1  # idempotent
    time.sleep(1.1)  # kids carry whole seconds
    kid2 = run(s, "rotate-signing-key").stdout.strip()
    assert kid2 != kid1
    assert (key_dir / f"ed25519-{kid2}.pem").exists()
    # The session secret is configured here (PLAZA_SESSION_SECRET), so no file is made.
    assert not (key_dir / "session.secret").exists()
    assert "PRIVATE" not in first.stdout + first.stderr
    with server_process(msgspec.structs.replace(s, port=free_port())) as base:
        jwks = httpx.get(f"{base}/.well-known/jwks.json").json()
    assert [k["kid"] for k in jwks["keys"]] == [kid2, kid1]
    assert [k.kid for k in signing_keys.load_dir(key_dir)] == [kid2, kid1]


def test_create_api_key_and_world(settings: Settings) -> None:
    made = run(settings, "create-api-key", "--role", "moderator", "--name", "ops-alice")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("pk_")
    assert "role=moderator" in made.stderr
    world = run(settings, "create-world", "--id", "lobby", "--capacity", "12")
    assert world.returncode == 0, world.stderr
    assert msgspec.json.decode(world.stdout)["settings"]["room_capacity"] == 12
    assert run(settings, "create-world", "--id", "lobby").returncode == 2
    assert run(settings, "create-world", "--id", "lobby", "--exist-ok").returncode == 0
    with server_process(msgspec.structs.replace(settings, port=free_port())) as base:
        resp = httpx.get(f"{base}/v1/ops/worlds/lobby", headers={"X-API-Key": key})
        assert resp.status_code == 200
        resp = httpx.delete(f"{base}/v1/ops/worlds/lobby", headers={"X-API-Key": key})
        assert resp.status_code == 403


def test_list_and_revoke_api_keys(settings: Settings) -> None:
    made = run(settings, "create-api-key", "--role", "admin", "--name", "ops-bob")
    assert made.returncode == 0, made.stderr
    key_id = made.stdout.strip().split("_")[1]
    listed = run(settings, "list-api-keys")
    assert listed.returncode == 0, listed.stderr
    assert f"{key_id}\tadmin\tactive" in listed.stdout
    assert made.stdout.strip() not in listed.stdout
    assert run(settings, "revoke-api-key", "--id", key_id).returncode == 0
    assert f"{key_id}\tadmin\trevoked" in run(settings, "list-api-keys").stdout
    gone = run(settings, "revoke-api-key", "--id", "000000000000")
    assert gone.returncode == 2
    assert "not found" in gone.stderr
