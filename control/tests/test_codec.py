"""The FlatBuffers we write and read match the pinned compiler's test vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plaza_control import codec
from plaza_control.models import (
    AnnounceBody,
    CloseRoomBody,
    CommandBodyT,
    DrainBody,
    KickBody,
    MuteBody,
    ReloadConfigBody,
    UnmuteBody,
    WorldSettings,
)

VECTORS = Path(__file__).resolve().parents[2] / "schemas" / "testdata"


def test_heartbeat_vector_decodes() -> None:
    want = json.loads((VECTORS / "coord.relay_heartbeat.json").read_text())
    got = codec.decode_heartbeat((VECTORS / "coord.relay_heartbeat.bin").read_bytes())
    assert got.relay_id == want["relay_id"]
    assert got.public_url == want["public_url"]
    assert got.region == want["region"]
    assert got.state == want["state"].lower()
    assert got.capacity_connections == want["capacity_connections"]
    assert got.connections == want["connections"]
    assert got.sent_at_ms == want["sent_at_ms"]
    again = codec.decode_heartbeat(codec.encode_heartbeat(got))
    assert again == got


def test_world_config_vector_round_trips() -> None:
    want = json.loads((VECTORS / "coord.world_config.json").read_text())
    got = codec.decode_world_config((VECTORS / "coord.world_config.bin").read_bytes())
    assert got.world_id == want["world_id"]
    assert got.version == want["version"]
    for field, value in want.items():
        if field in ("world_id", "version"):
            continue
        assert getattr(got.settings, field) == pytest.approx(value), field
    buf = codec.encode_world_config(got.world_id, got.version, got.settings)
    assert buf[4:8] == b"PLZW"
    assert codec.decode_world_config(buf) == got


def test_kick_vector_matches_our_encoding() -> None:
    want = json.loads((VECTORS / "coord.command_kick.json").read_text())
    ours = codec.encode_command(
        want["command_id"],
        want["target_relay_id"],
        want["issued_by"],
        want["issued_at_ms"],
        KickBody(**want["body"]),
    )
    theirs: Any = codec.decode_command((VECTORS / "coord.command_kick.bin").read_bytes())
    mine: Any = codec.decode_command(ours)
    assert ours[4:8] == b"PLZC"
    assert mine.commandId == theirs.commandId
    assert mine.bodyType == theirs.bodyType
    assert mine.body.userId == theirs.body.userId
    assert mine.body.roomId == theirs.body.roomId


@pytest.mark.parametrize(
    "body",
    [
        KickBody(room_id="r1", user_id="u1", reason="spam"),
        MuteBody(room_id="", user_id="u1", duration_seconds=60, reason="x"),
        UnmuteBody(room_id="r1", user_id="u1"),
        CloseRoomBody(room_id="r1", reason="done"),
        AnnounceBody(scope="world", room_id="", world_id="lobby", text="hello"),
        DrainBody(deadline_seconds=30, reason="deploy"),
        ReloadConfigBody(world_id="lobby", version=7, settings=WorldSettings(room_capacity=9)),
    ],
)
def test_every_command_body_encodes(body: CommandBodyT) -> None:
    buf = codec.encode_command("c0ffee00-0000-4000-8000-000000000001", "relay-a", "key1", 123, body)
    cmd: Any = codec.decode_command(buf)
    assert cmd.commandId == b"c0ffee00-0000-4000-8000-000000000001"
    assert cmd.targetRelayId == b"relay-a"
    assert cmd.issuedAtMs == 123
    assert cmd.bodyType != 0
    if isinstance(body, ReloadConfigBody):
        assert cmd.body.config.roomCapacity == 9
        assert cmd.body.config.version == 7


@pytest.mark.parametrize(
    "junk", [b"", b"1234", b"\x00" * 16, b"\x08\x00\x00\x00PLZH\xff\xff\xff\xff"]
)
def test_garbage_is_refused(junk: bytes) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode_heartbeat(junk)
