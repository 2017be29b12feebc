"""Test helpers: real heartbeats, API keys, session tokens, server processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from plaza_control import codec
from plaza_control.clock import system_clock_ms
from plaza_control.keyspace import Keyspace
from plaza_control.models import RelayInfo, Role
from plaza_control.repositories.mongo import MongoApiKeyRepository
from plaza_control.services.operators import ApiKeyService
from plaza_control.settings import Settings
from plaza_control.tokens import SessionTokens

REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def relay_listening(
    redis_client: aioredis.Redis, keyspace: Keyspace, relay_id: str = "relay-a"
) -> AsyncIterator[None]:
    """A subscriber on the command channels of ``relay_id`` and ``cmd:all``, as a
    relay process has: commands sent meanwhile count one receiver and start
    ``pending`` (with none they start ``undeliverable``)."""
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(keyspace.cmd_relay(relay_id), keyspace.cmd_all)
    try:
        yield
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


def relay(
    relay_id: str,
    *,
    capacity: int = 10_000,
    connections: int = 0,
    region: str = "eu-west",
    state: str = "ready",
    boot: str = "",
) -> RelayInfo:
    return RelayInfo(
        relay_id=relay_id,
        public_url=f"ws://127.0.0.1:18100/{relay_id}/ws",
        region=region,
        state=state,  # type: ignore[arg-type]
        capacity_connections=capacity,
        connections=connections,
        rooms=0,
        cpu_percent=12.5,
        egress_bytes_per_second=1000,
        sent_at_ms=system_clock_ms(),
        build="test",
        started_at_ms=system_clock_ms() - 1000,
        boot_id=boot,
    )


async def write_heartbeat(
    r: aioredis.Redis, keyspace: Keyspace, info: RelayInfo, ttl_ms: int = 30_000
) -> None:
    """What a relay does every few seconds (docs/redis.md): SET the FlatBuffers
    heartbeat with a TTL and SADD its id to the relay index."""
    pipe = r.pipeline(transaction=True)
    pipe.set(keyspace.relay_hb(info.relay_id), codec.encode_heartbeat(info), px=ttl_ms)
    pipe.sadd(keyspace.relays, info.relay_id)
    await pipe.execute()


async def make_api_key(settings: Settings, role: Role, name: str = "test") -> str:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
    try:
        key, _ = await ApiKeyService(
            MongoApiKeyRepository(client[settings.mongo_db]), system_clock_ms
        ).create(role, name)
    finally:
        await client.close()
    return key


def session_token(settings: Settings, user_id: str, name: str = "Tester") -> str:
    tokens = SessionTokens(
        settings.session_secret.encode(), settings.issuer, settings.session_ttl_seconds
    )
    return tokens.issue(user_id, name, system_clock_ms() // 1000)[0]


def user_id(n: int) -> str:
    return "u_" + f"{n:020d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes ``Settings.from_env()`` equal ``settings``."""
    import msgspec

    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")}
    for name, value in msgspec.structs.asdict(settings).items():
        env[f"PLAZA_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    env["PYTHONPATH"] = str(REPO / "control")
    return env


@contextmanager
def server_process(settings: Settings, extra_env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``python -m plaza_control serve`` on 127.0.0.1 and yield its base URL."""
    env = settings_env(settings)
    env.update(extra_env or {})
    log = open(  # noqa: SIM115 - closed below
        Path(settings.key_dir) / f"server-{settings.port}.log", "wb"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "plaza_control", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{settings.port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited: {(Path(settings.key_dir) / log.name).read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
