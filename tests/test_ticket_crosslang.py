"""Tickets minted by the control plane's code are accepted by the real Go relay.

The Python `TicketMinter` signs; the relay binary verifies against the JWKS
the control plane publishes (written to a file, --jwks-file). Tampered,
expired, wrong-relay, wrong-issuer and replayed tickets get their specific
close codes.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from plaza.common.CloseCode import CloseCode
from plaza.protocol.Envelope import EnvelopeT
from plaza.protocol.Hello import HelloT
from plaza.protocol.Message import Message
from plaza.protocol.Welcome import WelcomeT
from plaza_control.signing_keys import build_ring, generate_key_file, load_dir
from plaza_control.tokens import TicketMinter
from system.cluster import Process, build_relay, free_port, wait_http
from system.player import encode, text

RELAY_ID = "relay-ticket-test"


@pytest.fixture(scope="module")
def minter(tmp_path_factory: pytest.TempPathFactory) -> tuple[TicketMinter, Path]:
    key_dir = tmp_path_factory.mktemp("keys")
    generate_key_file(key_dir)
    ring = build_ring(load_dir(key_dir), now=time.time() + 3600, activation_seconds=0)
    jwks = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks.write_bytes(ring.jwks_json)
    return TicketMinter(lambda: ring, issuer="plaza-control", ttl_seconds=30), jwks


@pytest.fixture(scope="module")
def relay_url(
    tmp_path_factory: pytest.TempPathFactory, minter: tuple[TicketMinter, Path]
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("relay")
    binary = build_relay(workdir)
    port, admin = free_port(), free_port()
    proc = Process(
        "relay",
        [
            str(binary),
            "--relay-id",
            RELAY_ID,
            "--listen",
            f"127.0.0.1:{port}",
            "--admin-listen",
            f"127.0.0.1:{admin}",
            "--public-url",
            f"ws://127.0.0.1:{port}/ws",
            "--jwks-file",
            str(minter[1]),
        ],
        {},
        workdir / "relay.log",
    )
    proc.start()
    try:
        wait_http(f"http://127.0.0.1:{admin}/readyz", 30, proc.proc)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        assert proc.stop() == 0


def mint(minter: TicketMinter, **overrides: object) -> str:
    args: dict[str, object] = {
        "user_id": "u_" + "a" * 20,
        "relay_id": RELAY_ID,
        "room_id": "ticket-room",
        "world_id": "lobby",
        "world_version": 1,
        "name": "Tess",
        "perms": ["move", "chat", "emote", "state"],
        "now": int(time.time()),
        "room_lifetime": 1,
    }
    args.update(overrides)
    return minter.mint(**args).token  # type: ignore[arg-type]


async def hello(url: str, ticket: str) -> tuple[WelcomeT | None, int | None]:
    """Sends Hello; returns (Welcome, None) or (None, close code)."""
    async with websockets.connect(url) as ws:
        msg = HelloT()
        msg.ticket = ticket
        msg.clientVersion = "ticket-test"
        msg.protocolVersion = 1
        await ws.send(encode(Message.Hello, msg))
        try:
            while True:
                frame = await ws.recv()
                assert isinstance(frame, bytes)
                env = EnvelopeT.InitFromPackedBuf(frame, 0)
                if isinstance(env.message, WelcomeT):
                    return env.message, None
        except websockets.ConnectionClosed:
            return None, ws.close_code


def tamper_claims(token: str, **changes: object) -> str:
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{sig}"


async def test_control_plane_ticket_is_accepted(
    relay_url: str, minter: tuple[TicketMinter, Path]
) -> None:
    welcome, code = await hello(relay_url, mint(minter[0], name="Tess"))
    assert code is None
    assert welcome is not None
    assert welcome.snapshot is not None
    assert text(welcome.snapshot.roomId) == "ticket-room"
    members = welcome.snapshot.members or []
    assert [text(m.displayName) for m in members] == ["Tess"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered", CloseCode.TicketSignature),
        ("expired", CloseCode.TicketExpired),
        ("wrong_relay", CloseCode.TicketWrongRelay),
        ("malformed", CloseCode.TicketMalformed),
    ],
)
async def test_bad_tickets_get_specific_close_codes(
    relay_url: str, minter: tuple[TicketMinter, Path], case: str, expected: int
) -> None:
    if case == "tampered":
        ticket = tamper_claims(mint(minter[0]), room="another-room")
    elif case == "expired":
        ticket = mint(minter[0], now=int(time.time()) - 3600)
    elif case == "wrong_relay":
        ticket = mint(minter[0], relay_id="relay-elsewhere")
    else:
        ticket = "not-a-jwt"
    welcome, code = await hello(relay_url, ticket)
    assert welcome is None
    assert code == expected, f"{case}: close code {code}, want {expected}"


async def test_replayed_ticket_is_refused(
    relay_url: str, minter: tuple[TicketMinter, Path]
) -> None:
    ticket = mint(minter[0], user_id="u_" + "b" * 20, name="Rex")
    welcome, _ = await hello(relay_url, ticket)
    assert welcome is not None
    welcome, code = await hello(relay_url, ticket)
    assert welcome is None
    assert code == CloseCode.TicketReplayed
