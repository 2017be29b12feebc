"""plaza-ops against a real control plane (the app served by uvicorn on a
loopback port, on real Redis and FerretDB): every area's command, the ``--json`` output equal to
the API's answer, cursors followed, problems shown as one line with the
documented exit codes, and the key never printed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn
from typer.testing import CliRunner

from plaza_control.app import create_app
from plaza_control.keyspace import Keyspace
from plaza_control.models import Role
from plaza_control.settings import Settings
from plaza_ops.app import app
from plaza_ops.errors import ExitCode

from .conftest import cleanup, make_settings
from .helpers import REPO, free_port, make_api_key, relay, write_heartbeat

PLAZA_OPS = REPO / ".venv" / "bin" / "plaza-ops"


@dataclass
class Plaza:
    url: str
    admin: str
    viewer: str
    settings: Settings
    #: Signed-in guests placed in rooms: name -> (user id, room id).
    players: dict[str, tuple[str, str]]


async def _heartbeats(settings: Settings) -> None:
    r = aioredis.Redis.from_url(settings.redis_url)
    try:
        for rid in ("relay-a", "relay-b"):
            await write_heartbeat(r, Keyspace(settings.redis_prefix), relay(rid, boot=f"{rid}-b1"))
    finally:
        await r.aclose()


def _setup(url: str, admin: str, settings: Settings) -> dict[str, tuple[str, str]]:
    hdr = {"x-api-key": admin}
    players: dict[str, tuple[str, str]] = {}
    with httpx.Client(base_url=url, timeout=10) as http:
        for w in ("lobby", "plaza"):
            resp = http.post("/v1/ops/worlds", json={"id": w, "name": w.title()}, headers=hdr)
            assert resp.status_code == 201, resp.text
        asyncio.run(_heartbeats(settings))
        for i, name in enumerate(("Alice", "Alfred", "Bob")):
            resp = http.post(
                "/v1/auth/guest",
                json={"device_id": f"ops-cli-device-{i:012d}", "display_name": name},
            )
            assert resp.status_code == 200, resp.text
            signed = resp.json()
            resp = http.post(
                "/v1/join",
                json={"world_id": "lobby", "room_id": f"lobby.cli{i % 2}"},
                headers={"authorization": f"Bearer {signed['session_token']}"},
            )
            assert resp.status_code == 200, resp.text
            players[name] = (signed["user_id"], resp.json()["room_id"])
    return players


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The control plane app on a real HTTP port, served by uvicorn in a thread
    of this process (no second interpreter to start on a loaded machine)."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port, log_config=None)
    )
    thread = threading.Thread(target=server.run, name="control-plane", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the control plane stopped while starting"
        assert time.monotonic() < deadline, "the control plane did not start in 60 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(scope="module")
def plaza(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plaza]:
    settings = make_settings(
        tmp_path_factory.mktemp("ops-cli"), port=free_port(), sweep_interval_seconds=0.5
    )
    admin = asyncio.run(make_api_key(settings, Role.ADMIN, "cli-admin"))
    viewer = asyncio.run(make_api_key(settings, Role.VIEWER, "cli-viewer"))
    try:
        with serving(settings) as url:
            players = _setup(url, admin, settings)
            yield Plaza(url, admin, viewer, settings, players)
    finally:
        asyncio.run(cleanup(settings))


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def ops(plaza: Plaza, *args: str, key: str | None = None, as_json: bool = True) -> Ran:
    """Run plaza-ops in-process, the key from PLAZA_OPS_KEY as an operator would."""
    runner = CliRunner()
    argv = ["--url", plaza.url, *(["--json"] if as_json else []), *args]
    env = {"PLAZA_OPS_KEY": plaza.admin if key is None else key}
    result = runner.invoke(app, argv, env=env)
    return Ran(result.exit_code, result.stdout, result.stderr)


def api(plaza: Plaza, path: str, **params: Any) -> Any:
    resp = httpx.get(
        f"{plaza.url}{path}", params=params, headers={"x-api-key": plaza.admin}, timeout=10
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_relays_json_is_the_api_answer_and_the_table_shows_load(plaza: Plaza) -> None:
    ran = ops(plaza, "relays")
    assert ran.code == 0, ran.err
    # Heartbeat fields (sent_at_ms) move only with the next heartbeat: equal.
    assert ran.json() == api(plaza, "/v1/ops/relays", limit=100)
    assert [r["relay_id"] for r in ran.json()["items"]] == ["relay-a", "relay-b"]
    table = ops(plaza, "relays", as_json=False)
    assert table.code == 0, table.err
    assert "relay-a" in table.out
    assert "relay-a-b1" in table.out
    assert "0/10000" in table.out  # connections against capacity


def test_lists_follow_cursors(plaza: Plaza) -> None:
    one = ops(plaza, "rooms", "--limit", "1")
    assert one.code == 0, one.err
    assert len(one.json()["items"]) == 1
    assert one.json()["next"]
    assert one.json() == api(plaza, "/v1/ops/rooms", limit=1)
    rest = ops(plaza, "rooms", "--all", "--cursor", one.json()["next"])
    assert rest.code == 0, rest.err
    every = ops(plaza, "rooms", "--all").json()
    assert every["next"] is None
    assert every["items"] == one.json()["items"] + rest.json()["items"]
    assert [r["room_id"] for r in every["items"]] == ["lobby.cli0", "lobby.cli1"]
    table = ops(plaza, "rooms", "--limit", "1", as_json=False)
    assert "lobby.cli0" in table.out
    assert "--cursor" in table.err
    filtered = ops(plaza, "rooms", "--min-members", "2").json()["items"]
    assert [(r["room_id"], r["seats"]) for r in filtered] == [("lobby.cli0", 2)]


def test_members_users_user_sessions(plaza: Plaza) -> None:
    alice, room = plaza.players["Alice"]
    members = ops(plaza, "members", room)
    assert members.code == 0, members.err
    names = sorted(m["display_name"] for m in members.json()["items"])
    assert names == ["Alice", "Bob"]
    found = ops(plaza, "users", "--name", "Al").json()["items"]
    assert sorted(u["display_name"] for u in found) == ["Alfred", "Alice"]
    by_device = ops(plaza, "users", "--device", "ops-cli-device-000000000000").json()["items"]
    assert [u["id"] for u in by_device] == [alice]
    shown = ops(plaza, "user", alice)
    assert shown.json()["room_id"] == room
    assert shown.json()["user"]["display_name"] == "Alice"
    table = ops(plaza, "user", alice, as_json=False).out
    assert "Alice" in table
    assert room in table
    sessions = ops(plaza, "sessions", alice)
    assert sessions.code == 0
    assert set(sessions.json()) == {"items", "next"}


def test_moderation_and_ban_list(plaza: Plaza) -> None:
    bob, room = plaza.players["Bob"]
    kicked = ops(plaza, "kick", room, bob, "--reason", "cli kick")
    assert kicked.code == 0, kicked.err
    assert kicked.json()["kind"] == "kick"
    assert kicked.json()["target_relay_id"]
    muted = ops(plaza, "mute", bob, "-r", "cli mute", "--room", room, "--duration", "10m")
    assert muted.code == 0, muted.err
    assert muted.json()["kind"] == "mute"
    assert ops(plaza, "unmute", bob, "--room", room).json()["kind"] == "unmute"
    banned = ops(plaza, "ban", bob, "--reason", "cli ban", "--duration", "1h30m")
    assert banned.code == 0, banned.err
    assert banned.json()["kind"] == "kick"  # Bob holds a seat: the ban kicks him
    bans = ops(plaza, "bans").json()["items"]
    assert [(b["user_id"], b["reason"]) for b in bans] == [(bob, "cli ban")]
    assert bans[0]["until_ms"] - bans[0]["at_ms"] == 5400 * 1000
    assert "cli ban" in ops(plaza, "bans", as_json=False).out
    unbanned = ops(plaza, "unban", bob)
    assert (unbanned.code, unbanned.out) == (0, "")
    again = ops(plaza, "unban", bob)
    assert again.code == ExitCode.NOT_FOUND
    assert again.err.startswith("plaza-ops: 404 not-found: ")
    assert "request" in again.err
    audit = ops(plaza, "audit", "--action", "user.ban").json()["items"]
    assert audit[0]["actor_name"] == "cli-admin"
    assert audit[0]["duration_seconds"] == 5400


def test_announce_and_command_acks(plaza: Plaza) -> None:
    sent = ops(plaza, "announce", "cli says hi", "--world", "lobby")
    assert sent.code == 0, sent.err
    cid = sent.json()["command_id"]
    shown = ops(plaza, "command", cid)
    assert shown.code == 0, shown.err
    assert shown.json()["command_id"] == cid
    assert shown.json() == api(plaza, f"/v1/ops/commands/{cid}")
    listed = ops(plaza, "commands", "--limit", "100").json()["items"]
    assert cid in [c["command_id"] for c in listed]
    assert "announce" in ops(plaza, "command", cid, as_json=False).out
    both = ops(plaza, "announce", "x", "--room", "lobby.cli0", "--world", "lobby")
    assert both.code == ExitCode.USAGE


def test_drain_and_undrain(plaza: Plaza) -> None:
    no_reason = ops(plaza, "drain", "relay-b")
    assert no_reason.code == ExitCode.USAGE
    assert "--reason" in no_reason.err
    drained = ops(plaza, "drain", "relay-b", "--reason", "cli drain", "--deadline", "2m")
    assert drained.code == 0, drained.err
    assert drained.json()["kind"] == "drain"
    assert drained.json()["target_relay_id"] == "relay-b"
    relays = {r["relay_id"]: r for r in ops(plaza, "relays").json()["items"]}
    assert relays["relay-b"]["drain_requested"]
    assert relays["relay-b"]["drain_boot_id"] == ("relay-b-b1")
    assert "yes (boot relay-b-b1)" in ops(plaza, "relays", as_json=False).out
    undrained = ops(plaza, "undrain", "relay-b", "--reason", "cli undrain")
    assert undrained.json() == {"relay_id": "relay-b", "undrained": True}
    twice = ops(plaza, "undrain", "relay-b", "--reason", "cli undrain", as_json=False)
    assert "had no drain mark" in twice.out
    entry = ops(plaza, "audit", "--action", "relay.drain", "--limit", "1").json()["items"][0]
    assert (entry["status"], entry["reason"], entry["duration_seconds"]) == (202, "cli drain", 120)
    missing = ops(plaza, "drain", "relay-zz", "--reason", "nope")
    assert missing.code == ExitCode.NOT_FOUND, missing.err


def test_keys_create_list_revoke(plaza: Plaza) -> None:
    created = ops(plaza, "keys", "create", "--name", "cli-temp", "--role", "viewer")
    assert created.code == 0, created.err
    new_key, key_id = created.json()["key"], created.json()["id"]
    assert ops(plaza, "relays", key=new_key).code == 0
    listed = ops(plaza, "keys", "list", "--all").json()["items"]
    assert {"cli-admin", "cli-viewer", "cli-temp"} <= {k["name"] for k in listed}
    assert all("key" not in k and "hash" not in k for k in listed)
    assert ops(plaza, "keys", "revoke", key_id, as_json=False).out.strip() == f"{key_id}: revoked"
    refused = ops(plaza, "relays", key=new_key)
    assert refused.code == ExitCode.AUTH
    assert refused.err.startswith("plaza-ops: 401 unauthenticated: ")
    assert new_key not in refused.err + refused.out
    table = ops(plaza, "keys", "create", "--name", "cli-t2", "--role", "viewer", as_json=False)
    assert table.out.strip().splitlines()[-1].startswith("pk_")  # the key, last line


def test_worlds_and_audit_filters(plaza: Plaza) -> None:
    worlds = ops(plaza, "worlds", "list")
    assert [w["id"] for w in worlds.json()["items"]] == ["lobby", "plaza"]
    assert ops(plaza, "worlds", "show", "plaza").json()["name"] == "Plaza"
    assert ops(plaza, "worlds", "show", "nowhere").code == ExitCode.NOT_FOUND
    since = ops(plaza, "audit", "--since", "10m", "--action", "world.create").json()["items"]
    assert sorted(e["target"] for e in since) == ["lobby", "plaza"]
    assert all(e["actor_name"] == "cli-admin" and e["status"] == 201 for e in since)
    future = ops(plaza, "audit", "--since", "2099-01-01T00:00:00Z").json()
    assert future == {"items": [], "next": None}
    bad = ops(plaza, "audit", "--since", "yesterday")
    assert bad.code == ExitCode.USAGE
    assert "not a time" in bad.err


def test_errors_are_one_line_with_their_exit_code(plaza: Plaza) -> None:
    cases = [
        (("state", "lobby.nosuchroom"), plaza.admin, ExitCode.NOT_FOUND, "404 not-found"),
        (("members", "lobby.nosuchroom"), plaza.admin, ExitCode.NOT_FOUND, "404 not-found"),
        (("relays",), "pk_000000000000_wrong", ExitCode.AUTH, "401 unauthenticated"),
        (("relays",), "", ExitCode.AUTH, "no API key"),
        (("drain", "relay-a", "-r", "x"), plaza.viewer, ExitCode.AUTH, "403 forbidden"),
        (("state", "bad id!"), plaza.admin, ExitCode.USAGE, "400 invalid-input"),
        (("ban", "u_x", "-r", "x", "-d", "soon"), plaza.admin, ExitCode.USAGE, "not a duration"),
        (("rooms", "--limit", "0"), plaza.admin, ExitCode.USAGE, "--limit"),
    ]
    for args, key, code, text in cases:
        ran = ops(plaza, *args, key=key)
        assert (ran.code, ran.out) == (code, ""), (args, ran)
        assert text in ran.err, (args, ran.err)
        if key:
            assert key not in ran.err
        if ran.err.startswith("plaza-ops:"):
            assert len(ran.err.strip().splitlines()) == 1, ran.err
    down = CliRunner().invoke(
        app, ["--url", f"http://127.0.0.1:{free_port()}", "relays"], env={"PLAZA_OPS_KEY": "k"}
    )
    assert down.exit_code == ExitCode.OTHER
    assert "cannot reach" in down.stderr


def test_audit_follow_prints_new_entries_as_json_lines(plaza: Plaza, tmp_path: Path) -> None:
    """The installed entry point, as a process: it tails until it is stopped."""
    env = {**os.environ, "PLAZA_OPS_KEY": plaza.admin, "PLAZA_OPS_URL": plaza.url}
    path = tmp_path / "follow.out"
    out = path.open("w")
    proc = subprocess.Popen(
        [str(PLAZA_OPS), "--json", "audit", "--follow", "--interval", "0.3", "--limit", "1"],
        env=env,
        stdout=out,
        stderr=subprocess.PIPE,
    )

    def printed() -> list[dict[str, Any]]:
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    try:
        deadline = time.monotonic() + 30  # a new interpreter, on a loaded machine
        while not printed() and time.monotonic() < deadline:
            time.sleep(0.1)  # until the first poll printed the newest entry
        assert printed(), "audit --follow printed nothing"
        with httpx.Client(base_url=plaza.url, headers={"x-api-key": plaza.admin}) as http:
            for n in range(2):
                resp = http.post(
                    "/v1/ops/relays/relay-a/undrain", json={"reason": f"follow test {n}"}
                )
                assert resp.status_code == 200, resp.text
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = printed()
            if [e["reason"] for e in lines][-2:] == ["follow test 0", "follow test 1"]:
                break
            time.sleep(0.2)
        assert [e["reason"] for e in lines][-2:] == ["follow test 0", "follow test 1"], lines
        assert len(lines) == len({e["id"] for e in lines}), "an entry was printed twice"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        out.close()
