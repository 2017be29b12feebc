"""A real Plaza player for system tests: HTTP sign-in and join, then WebSocket + FlatBuffers.

Every frame the relay sends is decoded with the generated Python code and kept
in order; tests wait on predicates over what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

import flatbuffers
import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from plaza.protocol.ChatMessage import ChatMessageT
from plaza.protocol.ChatSend import ChatSendT
from plaza.protocol.DisconnectNotice import DisconnectNoticeT
from plaza.protocol.Envelope import EnvelopeT
from plaza.protocol.Hello import HelloT
from plaza.protocol.Message import Message
from plaza.protocol.StateSet import StateSetT
from plaza.protocol.Welcome import WelcomeT

T = TypeVar("T")

#: The reconnect rule (docs/protocol.md §8), in seconds.
BACKOFF_BASE_S = 0.25
BACKOFF_MAX_S = 10.0
HINT_JITTER_S = 0.25
#: Join answers whose wait a client honours and retries after.
RETRYABLE_STATUSES = (409, 429, 503)
_JITTER = random.Random()


def refusal_wait_seconds(resp: httpx.Response) -> float | None:
    """A refused join's wait: the problem body's ``retry_after_ms`` (preferred:
    the header rounds it up to whole seconds), else ``Retry-After``, else None."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        ms = body.get("retry_after_ms")
        if isinstance(ms, int) and not isinstance(ms, bool) and ms >= 1:
            return ms / 1000.0
    header = resp.headers.get("retry-after", "").strip()
    return float(header) if header.isdigit() else None


def reconnect_delay(attempt: int, hint_s: float | None, rng: random.Random = _JITTER) -> float:
    """Seconds to wait before attempt ``attempt`` (0-based): with a server hint
    ``hint + uniform(0, 0.25)``, without ``uniform(0, min(10, 0.25 x 2^attempt))``."""
    if hint_s is not None and hint_s > 0:
        return hint_s + rng.uniform(0.0, HINT_JITTER_S)
    return rng.uniform(0.0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** min(attempt, 6)))


def encode(message_type: int, message: Any) -> bytes:
    env = EnvelopeT()
    env.messageType = message_type
    env.message = message
    builder = flatbuffers.Builder(256)
    # flatc 25.12.19's stub types Pack as returning None; it returns the offset.
    builder.Finish(env.Pack(builder), file_identifier=b"PLZP")  # type: ignore[func-returns-value]
    return bytes(builder.Output())


def text(value: object) -> str:
    """Object-API strings are bytes at runtime (the .pyi stub says str)."""
    if value is None:
        return ""
    assert isinstance(value, bytes | str), value
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class Joined:
    room_id: str
    relay_id: str
    relay_url: str
    ticket: str


@dataclass
class Player:
    control_url: str
    name: str
    device_id: str = field(default_factory=lambda: f"sys-{uuid.uuid4().hex}")
    session_token: str = ""
    user_id: str = ""
    joined: Joined | None = None
    welcome: WelcomeT | None = None
    received: list[EnvelopeT] = field(default_factory=list)
    close_code: int | None = None
    ws: ClientConnection | None = None
    _reader: asyncio.Task[None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _request: int = 0

    async def sign_in(self, http: httpx.AsyncClient) -> None:
        resp = await http.post(
            f"{self.control_url}/v1/auth/guest",
            json={"device_id": self.device_id, "display_name": self.name},
        )
        resp.raise_for_status()
        body = resp.json()
        self.session_token, self.user_id = body["session_token"], body["user_id"]

    async def join(
        self, http: httpx.AsyncClient, *, world: str = "lobby", room: str | None = None
    ) -> Joined:
        payload: dict[str, Any] = {"world_id": world}
        if room is not None:
            payload["room_id"] = room
        resp = await http.post(
            f"{self.control_url}/v1/join",
            json=payload,
            headers={"authorization": f"Bearer {self.session_token}"},
        )
        resp.raise_for_status()
        b = resp.json()
        self.joined = Joined(b["room_id"], b["relay_id"], b["relay_url"], b["ticket"])
        return self.joined

    async def connect(self, within: float = 10) -> WelcomeT:
        assert self.joined is not None
        self.received.clear()
        self.close_code = None
        self.ws = await websockets.connect(self.joined.relay_url, max_size=1 << 20)
        hello = HelloT()
        hello.ticket = self.joined.ticket
        hello.clientVersion = "plaza-system-test/1"
        hello.protocolVersion = 1
        await self.ws.send(encode(Message.Hello, hello))
        self._reader = asyncio.create_task(self._read(self.ws))
        env = await self.wait_for(lambda e: e.messageType == Message.Welcome, within)
        assert isinstance(env.message, WelcomeT)
        self.welcome = env.message
        return env.message

    async def join_and_connect(
        self, http: httpx.AsyncClient, *, room: str | None = None, attempts: int = 20
    ) -> WelcomeT:
        """Join through the control plane and open the relay, retrying as a client
        would (docs/protocol.md §8): a 409/429/503 after its wait plus up to
        250 ms, anything else after the full-jitter backoff."""
        for attempt in range(attempts):
            hint: float | None = None
            try:
                await self.join(http, room=room)
                return await self.connect()
            except httpx.HTTPStatusError as exc:
                if attempt == attempts - 1:
                    raise
                if exc.response.status_code in RETRYABLE_STATUSES:
                    hint = refusal_wait_seconds(exc.response)
            except (OSError, TimeoutError, websockets.WebSocketException):
                if attempt == attempts - 1:
                    raise
            await asyncio.sleep(reconnect_delay(attempt, hint))
        raise AssertionError("unreachable")

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                assert isinstance(frame, bytes), "relay sent a text frame"
                self.received.append(EnvelopeT.InitFromPackedBuf(frame, 0))
                self._arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code if ws.close_code is not None else 1006
            self._arrived.set()

    async def wait_for(self, pred: Any, within: float = 10) -> EnvelopeT:
        deadline = time.monotonic() + within
        seen = 0
        while True:
            for env in self.received[seen:]:
                if pred(env):
                    return env
            seen = len(self.received)
            if self.close_code is not None:
                raise ConnectionError(f"{self.name}: closed with {self.close_code}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.name}: no matching frame in {within}s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def wait_closed(self, within: float = 15) -> int:
        deadline = time.monotonic() + within
        while self.close_code is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: still connected after {within}s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
        return self.close_code

    def messages(self, kind: type[T]) -> list[T]:
        return [e.message for e in self.received if isinstance(e.message, kind)]

    def chats(self) -> list[ChatMessageT]:
        return self.messages(ChatMessageT)

    def disconnect_notice(self) -> DisconnectNoticeT | None:
        notices = self.messages(DisconnectNoticeT)
        return notices[-1] if notices else None

    async def chat(self, line: str) -> int:
        assert self.ws is not None
        self._request += 1
        msg = ChatSendT()
        msg.text = line
        msg.requestId = self._request
        await self.ws.send(encode(Message.ChatSend, msg))
        return self._request

    async def set_state(self, key: str, value: bytes) -> int:
        assert self.ws is not None
        self._request += 1
        msg = StateSetT()
        msg.key = key
        msg.value = list(value)
        msg.requestId = self._request
        await self.ws.send(encode(Message.StateSet, msg))
        return self._request

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
