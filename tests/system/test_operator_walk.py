"""The operator walk of issue 13, against real processes (3 relays, 2 control
planes, Redis, FerretDB, real players), done twice: through the HTTP API and
through ``plaza-ops --json`` run as a subprocess. List relays, find a user by
name, list a room's members, kick (4107), ban (4108, and the rejoin is
refused), drain the room's relay and see the room move, undrain, create and
revoke an API key (refused on both control planes at once), and read every
action back from the audit log with actor name, status and reason."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from plaza.common.CloseCode import CloseCode

from .cluster import REPO_ROOT, Cluster, running_cluster
from .player import Player

PLAZA_OPS = REPO_ROOT / ".venv" / "bin" / "plaza-ops"
#: The name of the admin key ``running_cluster`` creates (the audit's actor).
ADMIN_NAME = "system-test"
Json = dict[str, Any]


class Operator(Protocol):
    """One way of operating Plaza: each method is one step of the walk."""

    def relays(self) -> list[Json]: ...
    def users(self, name: str) -> list[Json]: ...
    def members(self, room: str) -> list[Json]: ...
    def rooms(self, world: str) -> list[Json]: ...
    def kick(self, room: str, user: str, reason: str) -> Json: ...
    def ban(self, user: str, reason: str, seconds: int) -> Json | None: ...
    def drain(self, relay: str, reason: str, deadline: int) -> Json: ...
    def undrain(self, relay: str, reason: str) -> Json: ...
    def create_key(self, name: str, role: str) -> Json: ...
    def revoke_key(self, key_id: str) -> None: ...
    def audit(self, since_ms: int) -> list[Json]: ...
    def refused_on(self, control: str, key: str) -> bool:
        """Whether ``key`` is refused as unauthenticated by that control plane."""
        ...

    def unknown_room(self, room: str) -> int:
        """The outcome of asking for a room that is not open (status or exit code)."""
        ...

    def bad_key(self) -> int:
        """The outcome of a call with a key that does not exist."""
        ...


class ApiOperator:
    """The ops API through httpx, as any HTTP client would call it."""

    def __init__(self, cluster: Cluster) -> None:
        self._url = cluster.controls[0].url
        self._key = cluster.admin_key

    def _call(self, method: str, path: str, body: Json | None = None, **params: Any) -> Any:
        resp = httpx.request(
            method,
            f"{self._url}{path}",
            json=body,
            params=params,
            headers={"x-api-key": self._key},
            timeout=10,
        )
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    def _all(self, path: str, **params: Any) -> list[Json]:
        items: list[Json] = []
        cursor = None
        while True:
            page = self._call(
                "GET", path, limit=100, **params, **({"cursor": cursor} if cursor else {})
            )
            items += page["items"]
            cursor = page["next"]
            if cursor is None:
                return items

    def relays(self) -> list[Json]:
        return self._all("/v1/ops/relays")

    def users(self, name: str) -> list[Json]:
        return self._all("/v1/ops/users", name=name)

    def members(self, room: str) -> list[Json]:
        return self._all(f"/v1/ops/rooms/{room}/members")

    def rooms(self, world: str) -> list[Json]:
        return self._all("/v1/ops/rooms", world=world)

    def kick(self, room: str, user: str, reason: str) -> Json:
        out: Json = self._call(
            "POST", f"/v1/ops/rooms/{room}/kick", {"user_id": user, "reason": reason}
        )
        return out

    def ban(self, user: str, reason: str, seconds: int) -> Json | None:
        out: Json | None = self._call(
            "POST", f"/v1/ops/users/{user}/ban", {"reason": reason, "duration_seconds": seconds}
        )
        return out

    def drain(self, relay: str, reason: str, deadline: int) -> Json:
        out: Json = self._call(
            "POST",
            f"/v1/ops/relays/{relay}/drain",
            {"reason": reason, "deadline_seconds": deadline},
        )
        return out

    def undrain(self, relay: str, reason: str) -> Json:
        out: Json = self._call("POST", f"/v1/ops/relays/{relay}/undrain", {"reason": reason})
        return out

    def create_key(self, name: str, role: str) -> Json:
        out: Json = self._call("POST", "/v1/ops/keys", {"name": name, "role": role})
        return out

    def revoke_key(self, key_id: str) -> None:
        self._call("DELETE", f"/v1/ops/keys/{key_id}")

    def audit(self, since_ms: int) -> list[Json]:
        return self._all("/v1/ops/audit", since=since_ms)

    def refused_on(self, control: str, key: str) -> bool:
        resp = httpx.get(f"{control}/v1/ops/relays", headers={"x-api-key": key}, timeout=5)
        assert resp.status_code in (200, 401), resp.text
        return resp.status_code == 401

    def unknown_room(self, room: str) -> int:
        resp = httpx.get(
            f"{self._url}/v1/ops/rooms/{room}/members", headers={"x-api-key": self._key}
        )
        assert resp.headers["content-type"] == "application/problem+json"
        return resp.status_code

    def bad_key(self) -> int:
        resp = httpx.get(
            f"{self._url}/v1/ops/relays", headers={"x-api-key": "pk_000000000000_nosuchkey"}
        )
        return resp.status_code


class CliOperator:
    """``plaza-ops --json``, run as the installed program in its own process."""

    def __init__(self, cluster: Cluster) -> None:
        self._env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")},
            "PLAZA_OPS_URL": cluster.controls[0].url,
            "PLAZA_OPS_KEY": cluster.admin_key,
        }

    def run(self, *args: str, key: str | None = None, url: str | None = None) -> tuple[int, Any]:
        env = dict(self._env)
        if key is not None:
            env["PLAZA_OPS_KEY"] = key
        if url is not None:
            env["PLAZA_OPS_URL"] = url
        done = subprocess.run(
            [str(PLAZA_OPS), "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert env["PLAZA_OPS_KEY"] not in done.stdout + done.stderr, "the key was printed"
        if done.returncode != 0:
            line = done.stderr.strip()
            assert line.startswith("plaza-ops: "), done.stderr
            assert len(line.splitlines()) == 1, done.stderr
            return done.returncode, line
        return 0, json.loads(done.stdout) if done.stdout.strip() else None

    def ok(self, *args: str) -> Any:
        code, out = self.run(*args)
        assert code == 0, (args, code, out)
        return out

    def relays(self) -> list[Json]:
        items: list[Json] = self.ok("relays", "--all")["items"]
        return items

    def users(self, name: str) -> list[Json]:
        items: list[Json] = self.ok("users", "--name", name, "--all")["items"]
        return items

    def members(self, room: str) -> list[Json]:
        items: list[Json] = self.ok("members", room, "--all")["items"]
        return items

    def rooms(self, world: str) -> list[Json]:
        items: list[Json] = self.ok("rooms", "--world", world, "--all")["items"]
        return items

    def kick(self, room: str, user: str, reason: str) -> Json:
        out: Json = self.ok("kick", room, user, "--reason", reason)
        return out

    def ban(self, user: str, reason: str, seconds: int) -> Json | None:
        out: Json | None = self.ok("ban", user, "--reason", reason, "--duration", f"{seconds}s")
        return out

    def drain(self, relay: str, reason: str, deadline: int) -> Json:
        out: Json = self.ok("drain", relay, "--reason", reason, "--deadline", str(deadline))
        return out

    def undrain(self, relay: str, reason: str) -> Json:
        out: Json = self.ok("undrain", relay, "--reason", reason)
        return out

    def create_key(self, name: str, role: str) -> Json:
        out: Json = self.ok("keys", "create", "--name", name, "--role", role)
        return out

    def revoke_key(self, key_id: str) -> None:
        assert self.ok("keys", "revoke", key_id) is None

    def audit(self, since_ms: int) -> list[Json]:
        items: list[Json] = self.ok("audit", "--since", str(since_ms), "--all")["items"]
        return items

    def refused_on(self, control: str, key: str) -> bool:
        code, out = self.run("relays", key=key, url=control)
        assert code in (0, 3), out
        return code == 3

    def unknown_room(self, room: str) -> int:
        code, line = self.run("members", room)
        assert "404 not-found" in line, line
        return code

    def bad_key(self) -> int:
        code, line = self.run("relays", key="pk_000000000000_nosuchkey")
        assert "401 unauthenticated" in line, line
        return code


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, relay_binary: Path) -> Iterator[Cluster]:
    """3 relays: each walk drains one (a drained relay exits once empty)."""
    with running_cluster(
        tmp_path_factory.mktemp("walk"), relay_binary, controls=2, relays=3, world_capacity=8
    ) as c:
        yield c


async def _until(check: Any, what: str, within: float = 15) -> Any:
    deadline = time.monotonic() + within
    while True:
        got = await asyncio.to_thread(check)
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within}s")
        await asyncio.sleep(0.3)


async def _walk(cluster: Cluster, op: Operator, tag: str, expect: dict[str, int]) -> None:
    run = asyncio.to_thread
    started_ms = int(time.time() * 1000) - 1
    room = f"lobby.walk{tag}"
    urls = [c.url for c in cluster.controls]
    alice, bob, carol = (
        Player(urls[i % 2], f"{tag}{n}") for i, n in enumerate(("Alice", "Bob", "Carol"))
    )
    players = [alice, bob, carol]
    async with httpx.AsyncClient(timeout=20) as http:
        for p in players:
            await p.sign_in(http)
            await p.join_and_connect(http, room=room)
    try:
        # List relays: every running relay is live and ready.
        relays = {r["relay_id"]: r for r in await run(op.relays)}
        running = {r.relay_id for r in cluster.relays if r.process.alive()}
        assert running <= {rid for rid, r in relays.items() if r["state"] == "ready"}, relays
        assert all(relays[rid]["boot_id"] for rid in running)

        # Search a user by display name.
        found = await run(op.users, f"{tag}Bo")
        assert [(u["id"], u["display_name"]) for u in found] == [(bob.user_id, f"{tag}Bob")]

        # Members of the room, with the sessions the relay confirmed.
        def confirmed() -> list[Json] | None:
            members = op.members(room)
            done = len(members) == 3 and all(m["session_id"] and m["confirmed"] for m in members)
            return members if done else None

        members = await _until(confirmed, "3 confirmed members")
        assert sorted(m["display_name"] for m in members) == sorted(p.name for p in players)
        assert all(m["joined_at_ms"] >= started_ms for m in members), members

        # Kick Carol: closed with 4107.
        kicked = await run(op.kick, room, carol.user_id, f"walk {tag}: griefing")
        assert kicked["kind"] == "kick"
        assert await carol.wait_closed() == CloseCode.Kicked

        # Ban Bob: closed with 4108, and his rejoin is refused.
        banned = await run(op.ban, bob.user_id, f"walk {tag}: cheating", 3600)
        assert banned is not None
        assert banned["kind"] == "kick", banned
        assert await bob.wait_closed() == CloseCode.Banned
        async with httpx.AsyncClient(timeout=10) as http:
            resp = await http.post(
                f"{bob.control_url}/v1/join",
                json={"world_id": "lobby", "room_id": room},
                headers={"authorization": f"Bearer {bob.session_token}"},
            )
        assert resp.status_code == 403, resp.text
        assert resp.json()["type"] == "urn:plaza:problem:banned"

        # Drain the room's relay: Alice is told to move, rejoins, the room moves.
        assert alice.joined is not None
        host = alice.joined.relay_id
        drained = await run(op.drain, host, f"walk {tag}: maintenance", 10)
        assert (drained["kind"], drained["target_relay_id"]) == ("drain", host)
        # Marked for its incarnation, unless it already emptied and exited.
        marked = {r["relay_id"]: r for r in await run(op.relays)}.get(host)
        if marked is not None:
            assert marked["drain_requested"]
            assert marked["drain_boot_id"] == relays[host]["boot_id"]
        assert await alice.wait_closed(within=20) in (CloseCode.Draining, 1001)
        notice = alice.disconnect_notice()
        assert notice is not None
        assert notice.resume is not None
        async with httpx.AsyncClient(timeout=20) as http:
            await alice.join_and_connect(http, room=room, attempts=40)
        assert alice.joined.relay_id != host

        def moved() -> list[Json] | None:
            rooms = [r for r in op.rooms("lobby") if r["room_id"] == room]
            return rooms if rooms and rooms[0]["relay_id"] not in (host, "") else None

        assert (await _until(moved, "room listed on its new relay"))[0]["relay_id"] == (
            alice.joined.relay_id
        )

        # Undrain: the mark is gone (the drained process may have exited already,
        # and with it the mark: then there was nothing left to undrain).
        undrained = await run(op.undrain, host, f"walk {tag}: done")
        assert undrained["relay_id"] == host
        assert not any(r["drain_requested"] for r in await run(op.relays) if r["relay_id"] == host)

        # An API key: works on both control planes, then refused by both at once.
        created = await run(op.create_key, f"walk-{tag}", "viewer")
        assert created["key"].startswith(f"pk_{created['id']}_")
        for url in urls:
            assert not await run(op.refused_on, url, created["key"])
        await run(op.revoke_key, created["id"])
        if expect["each_call_a_process"]:
            # The first call after the revoke is refused on each control plane
            # (no second try): a new process per call cannot be timed to the second.
            for url in urls:
                assert await run(op.refused_on, url, created["key"]), url
        else:
            await _until(
                lambda: all(op.refused_on(url, created["key"]) for url in urls),
                "the revoked key refused by both control planes",
                1.0,
            )

        # Errors as the operator sees them.
        assert await run(op.unknown_room, "lobby.nosuchroom") == expect["not_found"]
        assert await run(op.bad_key) == expect["auth"]

        # The audit log shows each action: actor name, HTTP status, reason, duration.
        targets = {f"{room}/{carol.user_id}", bob.user_id, host, f"walk-{tag}", created["id"]}

        def audited() -> dict[str, Json] | None:
            mine = {e["action"]: e for e in op.audit(started_ms) if e["target"] in targets}
            return mine if len(mine) >= 6 else None

        audit = await _until(audited, "six audited actions", 5)
        want = {
            "room.kick": (202, f"walk {tag}: griefing", None),
            "user.ban": (200, f"walk {tag}: cheating", 3600),
            "relay.drain": (202, f"walk {tag}: maintenance", 10),
            "relay.undrain": (200, f"walk {tag}: done", None),
            "key.create": (201, "", None),
            "key.revoke": (204, "", None),
        }
        for action, (status, reason, duration) in want.items():
            e = audit[action]
            assert e["actor_name"] == ADMIN_NAME, e
            assert (e["status"], e["reason"], e["result"]) == (status, reason, "ok"), e
            if duration is not None:
                assert e["duration_seconds"] == duration, e
            assert e["request_id"], e
        assert audit["room.kick"]["target"] == f"{room}/{carol.user_id}"
        assert audit["user.ban"]["target"] == bob.user_id
        assert audit["relay.drain"]["target"] == host
        assert f"boot {relays[host]['boot_id']}" in audit["relay.drain"]["detail"]
    finally:
        await asyncio.gather(*(p.close() for p in players))


async def test_operator_walk_through_the_api(cluster: Cluster) -> None:
    await _walk(
        cluster,
        ApiOperator(cluster),
        "api",
        {"not_found": 404, "auth": 401, "each_call_a_process": 0},
    )


async def test_operator_walk_through_plaza_ops(cluster: Cluster) -> None:
    await _walk(
        cluster, CliOperator(cluster), "cli", {"not_found": 4, "auth": 3, "each_call_a_process": 1}
    )
