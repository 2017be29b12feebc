"""Python encodes, Go decodes (and back) over a real loopback TCP socket.

The Go peer (tests/crosslang/echopeer) answers each client message with the
relay-side message derived from it, built by the generated Go code. Frames are
a 4-byte little-endian length and one FlatBuffers Envelope.
"""

from __future__ import annotations

import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import flatbuffers
import pytest

from plaza.common.ErrorCode import ErrorCode
from plaza.common.Quat import QuatT
from plaza.common.Transform import TransformT
from plaza.common.Vec3 import Vec3T
from plaza.protocol import Envelope as EnvelopeModule
from plaza.protocol import Hello
from plaza.protocol.ChatMessage import ChatMessageT
from plaza.protocol.ChatSend import ChatSendT
from plaza.protocol.Envelope import Envelope, EnvelopeT
from plaza.protocol.Error import ErrorT
from plaza.protocol.Message import Message
from plaza.protocol.Move import MoveT
from plaza.protocol.MovementBatch import MovementBatchT
from plaza.protocol.Ping import PingT
from plaza.protocol.Pong import PongT
from plaza.protocol.StateChanged import StateChangedT
from plaza.protocol.StateSet import StateSetT
from plaza.protocol.Welcome import WelcomeT
from system.player import encode, text

REPO_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@pytest.fixture(scope="module")
def go_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[socket.socket]:
    binary = tmp_path_factory.mktemp("echopeer") / "echopeer"
    subprocess.run(
        ["go", "build", "-o", str(binary), "./tests/crosslang/echopeer"],
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
    )
    proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        yield sock
        sock.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def exchange(sock: socket.socket, frame: bytes) -> EnvelopeT:
    sock.sendall(struct.pack("<I", len(frame)) + frame)
    header = recv_exact(sock, 4)
    (size,) = struct.unpack("<I", header)
    reply = recv_exact(sock, size)
    assert Envelope.EnvelopeBufferHasIdentifier(reply, 0, size_prefixed=False)
    return EnvelopeT.InitFromPackedBuf(reply, 0)


def body(reply: EnvelopeT, kind: type[T]) -> T:
    assert isinstance(reply.message, kind), reply.message
    return reply.message


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk, "Go peer closed the socket"
        buf += chunk
    return buf


def test_hello_built_with_the_low_level_builder(go_peer: socket.socket) -> None:
    builder = flatbuffers.Builder(128)
    ticket = builder.CreateString("tkt.abc")
    version = builder.CreateString("py-test/1")
    Hello.HelloStart(builder)
    Hello.HelloAddTicket(builder, ticket)
    Hello.HelloAddClientVersion(builder, version)
    Hello.HelloAddProtocolVersion(builder, 1)
    hello = Hello.HelloEnd(builder)
    EnvelopeModule.EnvelopeStart(builder)
    EnvelopeModule.EnvelopeAddMessageType(builder, Message.Hello)
    EnvelopeModule.EnvelopeAddMessage(builder, hello)
    builder.Finish(EnvelopeModule.EnvelopeEnd(builder), file_identifier=b"PLZP")

    reply = exchange(go_peer, bytes(builder.Output()))
    assert reply.messageType == Message.Welcome
    welcome = body(reply, WelcomeT)
    assert text(welcome.sessionId) == "echo:tkt.abc"
    assert welcome.memberId == len("py-test/1")
    assert welcome.protocolVersion == 1
    assert welcome.snapshot is not None
    assert text(welcome.snapshot.roomId) == "r_echo"


def test_move_transform_survives_both_directions(go_peer: socket.socket) -> None:
    move = MoveT()
    move.transform = TransformT()
    # A struct is fixed-size: every nested struct must be present.
    move.transform.position = Vec3T()
    move.transform.position.x, move.transform.position.y, move.transform.position.z = 1.5, -2, 3
    move.transform.velocity = Vec3T()
    move.transform.rotation = QuatT()
    move.transform.rotation.w = 1
    move.transform.animation = 7
    move.clientTimeMs = (1 << 40) + 12345
    reply = exchange(go_peer, encode(Message.Move, move))
    assert reply.messageType == Message.MovementBatch
    avatars = body(reply, MovementBatchT).avatars
    assert avatars is not None
    (avatar,) = avatars
    assert avatar.clientTimeMsLow == 12345  # low 32 bits only
    assert avatar.transform is not None
    assert avatar.transform.position is not None
    assert avatar.transform.position.x == 1.5
    assert avatar.transform.position.y == -2
    assert avatar.transform.animation == 7


def test_chat_text_survives_non_ascii(go_peer: socket.socket) -> None:
    chat = ChatSendT()
    chat.text = "héllo 🌍 — plaza"
    chat.requestId = 41
    reply = exchange(go_peer, encode(Message.ChatSend, chat))
    assert reply.messageType == Message.ChatMessage
    message = body(reply, ChatMessageT)
    assert text(message.text) == "héllo 🌍 — plaza"
    assert message.sequence == 42
    assert text(message.displayName) == "Écho"


def test_state_set_bytes_and_versions(go_peer: socket.socket) -> None:
    state = StateSetT()
    state.key = "door"
    state.value = [0, 1, 254, 255]
    state.compareAndSet = True
    state.expectedVersion = 9
    state.requestId = 3
    reply = exchange(go_peer, encode(Message.StateSet, state))
    assert reply.messageType == Message.StateChanged
    changed = body(reply, StateChangedT)
    entry = changed.entry
    assert entry is not None
    assert text(entry.key) == "door"
    assert entry.value is not None
    assert list(entry.value) == [0, 1, 254, 255]
    assert entry.version == 10
    assert changed.requestId == 3


def test_ping_pong_clock(go_peer: socket.socket) -> None:
    ping = PingT()
    ping.clientTimeMs = 1_764_300_000_000
    ping.requestId = 5
    reply = exchange(go_peer, encode(Message.Ping, ping))
    assert reply.messageType == Message.Pong
    pong = body(reply, PongT)
    assert pong.clientTimeMs == 1_764_300_000_000
    assert pong.serverTimeMs > 1_700_000_000_000


def test_garbage_gets_a_typed_error(go_peer: socket.socket) -> None:
    reply = exchange(go_peer, b"\x00" * 12)
    assert reply.messageType == Message.Error
    assert body(reply, ErrorT).code == ErrorCode.MalformedFrame
