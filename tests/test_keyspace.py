"""Every user of the Redis key space is checked against its one declaration,
``schemas/keyspace.json``: the Python ``Keyspace``, the Lua allocation scripts
(run on real Redis) and the key tables of ``docs/redis.md``. The relay's Go half
is checked by ``relay-go/internal/redisbridge/keyspace_test.go``."""

from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from plaza_control.keyspace import Keyspace
from plaza_control.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DECLARATION = ROOT / "schemas" / "keyspace.json"
REDIS_URL = os.environ.get("PLAZA_REDIS_URL", "redis://127.0.0.1:16379/0")
PREFIX = "tp:"
#: Sample value of each placeholder: distinct, so a swapped pair shows.
SAMPLES = {
    "relay_id": "relay-7",
    "room_id": "lobby.abc",
    "world_id": "lobby",
    "user_id": "u_0123456789abcdefghij",
    "session_id": "s9",
    "scope": "join-ip",
    "subject": "127.0.0.1",
    "jti": "j1",
    "device_hash": "d" * 64,
    "identity_hash": "e" * 64,
}


def declaration() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DECLARATION.read_text())
    return data


def entries() -> dict[str, dict[str, str]]:
    return {e["name"]: e for e in declaration()["entries"]}


def placeholders(pattern: str) -> list[str]:
    return re.findall(r"<([a-z_]+)>", pattern)


def expand(entry: dict[str, str], prefix: str, values: dict[str, str]) -> str:
    """The full name an entry declares: scope prefix + pattern, placeholders filled."""
    out = entry["pattern"]
    for name in placeholders(out):
        out = out.replace(f"<{name}>", values[name])
    scope: dict[str, str] = {"P": prefix, "A": prefix + str(declaration()["alloc_suffix"])}
    return scope[entry["scope"]] + out


def test_declaration_is_well_formed() -> None:
    data = declaration()
    names = [e["name"] for e in data["entries"]]
    assert len(names) == len(set(names)), "duplicate entry names"
    for e in data["entries"]:
        assert e["scope"] in ("P", "A"), e
        assert e["kind"] in ("string", "set", "hash", "zset", "stream", "channel"), e
        for p in placeholders(e["pattern"]):
            assert p in SAMPLES, f"{e['name']}: no sample for <{p}>"


def test_default_prefix_is_the_settings_default() -> None:
    default = Settings.__struct_defaults__[Settings.__struct_fields__.index("redis_prefix")]
    assert default == declaration()["default_prefix"]


def test_python_keyspace_matches_declaration() -> None:
    """Each public name of ``Keyspace`` is a declared entry and renders exactly as
    declared; the method's parameters are the entry's placeholders."""
    ks = Keyspace(PREFIX)
    assert ks.alloc == PREFIX + declaration()["alloc_suffix"]
    declared = entries()
    members = [n for n in vars(Keyspace) if not n.startswith("_") and n not in ("prefix", "alloc")]
    assert members, "Keyspace exposes no names"
    for name in members:
        assert name in declared, f"Keyspace.{name} is not declared in schemas/keyspace.json"
        entry = declared[name]
        attr = getattr(Keyspace, name)
        if isinstance(attr, property):
            assert not placeholders(entry["pattern"]), f"{name}: declared with placeholders"
            got = getattr(ks, name)
        else:
            params = list(inspect.signature(attr).parameters)[1:]
            assert params == placeholders(entry["pattern"]), f"{name}: parameters {params}"
            got = getattr(ks, name)(*(SAMPLES[p] for p in params))
        assert got == expand(entry, PREFIX, SAMPLES), name


def doc_key_cells() -> set[str]:
    """First-column names of the key and channel tables of docs/redis.md."""
    text = (ROOT / "docs" / "redis.md").read_text()
    return set(re.findall(r"^\| `([AP] [^`]+)` \|", text, flags=re.MULTILINE))


def test_docs_table_lists_exactly_the_declared_names() -> None:
    documented = doc_key_cells()
    declared = {f"{e['scope']} {e['pattern']}" for e in declaration()["entries"]}
    assert declared - documented == set(), "declared but not in docs/redis.md"
    assert documented - declared == set(), "in docs/redis.md but not declared"


SCRIPTS = ROOT / "control" / "plaza_control" / "redis_scripts"
LUA_BUILDER = re.compile(r"^function K\.([a-z_]+)\(P(?:, ([a-z_, ]+))?\) return P \.\. ")


def lua_builders() -> dict[str, list[str]]:
    """``K.<entry>(P, ...)`` builders of _common.lua: entry name -> parameters."""
    found: dict[str, list[str]] = {}
    for line in (SCRIPTS / "_common.lua").read_text().splitlines():
        m = LUA_BUILDER.match(line)
        if m:
            found[m.group(1)] = [p.strip() for p in (m.group(2) or "").split(",") if p.strip()]
    return found


def test_lua_builds_key_names_only_through_its_builders() -> None:
    """Outside the ``K`` builders no script concatenates a name onto the prefix."""
    offenders = []
    for path in sorted(SCRIPTS.glob("*.lua")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("--", 1)[0]
            if "P .." in code and not LUA_BUILDER.match(line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


async def test_lua_builders_match_declaration() -> None:
    """Each builder, run by Redis itself, renders its entry exactly as declared."""
    builders = lua_builders()
    declared = entries()
    assert builders, "no K builders found in _common.lua"
    names = sorted(builders)
    for name in names:
        assert name in declared, f"K.{name} is not declared in schemas/keyspace.json"
        assert declared[name]["scope"] == "A", f"K.{name}: scripts get only A"
        assert builders[name] == placeholders(declared[name]["pattern"]), name
    calls = ", ".join(
        f"K.{n}(ARGV[1]{''.join(f', {json.dumps(SAMPLES[p])}' for p in builders[n])})"
        for n in names
    )
    common = (SCRIPTS / "_common.lua").read_text()
    alloc = PREFIX + declaration()["alloc_suffix"]
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        got = await client.eval(f"{common}\nreturn {{{calls}}}", 0, alloc)
    finally:
        await client.aclose()
    assert [g.decode() for g in got] == [expand(declared[n], PREFIX, SAMPLES) for n in names]


@pytest.mark.parametrize("name", sorted(entries()))
def test_every_entry_has_a_user(name: str) -> None:
    """No declaration is dead: each name is built by Python, Go or Lua."""
    py = name in vars(Keyspace)
    go = (ROOT / "relay-go/internal/redisbridge/keyspace_test.go").read_text()
    assert py or f'"{name}"' in go or name in lua_builders(), name
