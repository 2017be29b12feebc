"""Checks on captured log output: every line a JSON object with ECS names and no
duplicated key, and no secret anywhere in it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

ECS_KEYS = ("@timestamp", "log.level", "message", "service.name")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dupes = {k for k in keys if keys.count(k) > 1}
    assert not dupes, f"duplicated keys {sorted(dupes)} in a log line"
    return dict(pairs)


def json_lines(name: str, text: str, service: str) -> list[dict[str, Any]]:
    """Every non-empty line of text parsed; asserts the shape of each."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{name}:{n} is not JSON: {line!r}") from exc
        assert isinstance(obj, dict), f"{name}:{n}: {line!r}"
        missing = [k for k in ECS_KEYS if k not in obj]
        assert not missing, f"{name}:{n} lacks {missing}: {line!r}"
        assert obj["service.name"] == service, f"{name}:{n}: {line!r}"
        assert str(obj["@timestamp"]).endswith("Z"), f"{name}:{n}: {line!r}"
        out.append(obj)
    return out


def leaks(text: str, secrets: Mapping[str, str]) -> list[str]:
    """Names of the secrets that occur in text. Long secrets (a PEM body, a JWT)
    also count when any 24-character piece of them occurs."""
    found = []
    for name, value in secrets.items():
        assert len(value) >= 16, f"secret {name} too short to scan for"
        pieces: Iterable[str] = [value]
        if len(value) > 48:
            pieces = [value[i : i + 24] for i in range(0, len(value) - 24, 12)]
        if any(p in text for p in pieces):
            found.append(name)
    return found


def pem_body(pem: str) -> str:
    """The base64 of a PEM file, without its BEGIN/END lines."""
    return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
