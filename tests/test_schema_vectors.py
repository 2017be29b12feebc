"""Python half of the shared-vector proof: decode every vector, re-encode, compare via flatc."""

from __future__ import annotations

from typing import Any

import pytest

from plaza.protocol.Envelope import Envelope
from plaza.protocol.Message import Message
from schema_vectors import (
    FILE_IDENTIFIERS,
    Vector,
    drop_empty_strings,
    flatc_json,
    load_vectors,
    reencode,
)

VECTORS = load_vectors()


def test_manifest_covers_every_client_message_type() -> None:
    names = {v.source["message_type"] for v in VECTORS if v.root_type.endswith("Envelope")}
    declared = {k for k in vars(Message) if not k.startswith("_") and k != "NONE"}
    assert names == declared


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_vector_round_trips_through_python(vector: Vector) -> None:
    original = vector.binary
    again = reencode(vector.root_type, original)
    ident = FILE_IDENTIFIERS[vector.root_type]
    if ident is not None:
        assert again[4:8] == ident
    assert flatc_json(vector.schema, vector.root_type, again) == flatc_json(
        vector.schema, vector.root_type, original
    )


def _subset(expected: Any, actual: Any) -> bool:
    """True when every value in `expected` appears at the same place in `actual`."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, float) or isinstance(actual, float):
        return abs(float(expected) - float(actual)) < 1e-6
    return bool(expected == actual)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_vector_binary_matches_its_json_source(vector: Vector) -> None:
    # Catches a .bin that was not regenerated from its .json.
    expected = drop_empty_strings(vector.source)
    assert _subset(expected, flatc_json(vector.schema, vector.root_type, vector.binary))


def test_python_reads_fields_directly() -> None:
    chat = next(v for v in VECTORS if v.name == "protocol.chat_message")
    env = Envelope.GetRootAs(chat.binary, 0)
    assert env.MessageType() == Message.ChatMessage
    from plaza.protocol.ChatMessage import ChatMessage

    msg = ChatMessage()
    table = env.Message()
    assert table is not None
    msg.Init(table.Bytes, table.Pos)
    # Accessors return bytes at runtime; flatc's stub says str.
    assert bytes(msg.Text() or b"") == "hello, plaza ✓".encode()  # type: ignore[arg-type]
    assert msg.Sequence() == 1237
    assert bytes(msg.DisplayName() or b"") == "Zoë 🐙".encode()  # type: ignore[arg-type]
