"""The consumer-group loop over ``P events``.

Each process runs one ``EventConsumer`` per group (``control``: MongoDB records;
``seats``: seat confirmation in Redis), under a unique consumer name; the two
groups read the same entries independently. Each turn it
first re-reads its own pending entries (after a start or a failure), then new
ones (``XREADGROUP ... BLOCK``), and every ``claim_interval`` takes over entries
idle longer than ``claim_idle_ms`` in any consumer's pending list (a consumer
that died mid-batch). Entries are acknowledged only after their writes
succeeded; undecodable entries are stored in MongoDB ``dead_letters`` (by the
group that has a dead-letter store) and then acknowledged. Redis or MongoDB
failing stops acknowledging, backs off (with jitter) and retries; the HTTP side
is not affected.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec
import structlog
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError, ResponseError

from plaza_control import codec
from plaza_control.clock import Clock
from plaza_control.codec import CodecError
from plaza_control.events.contracts import DeadLetterRepository, EventStream
from plaza_control.events.handlers import Outcome
from plaza_control.events.models import DeadLetter, Entry
from plaza_control.models import RoomEvent
from plaza_control.observability import GroupMetrics

_log = structlog.get_logger("plaza.events.consumer")


def consumer_name() -> str:
    """Unique per process: host, pid and a random suffix (a restarted process with
    the same pid never inherits a dead one's name)."""
    host = socket.gethostname().split(".")[0][:32] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class BatchHandler(Protocol):
    async def apply(self, events: list[RoomEvent]) -> Outcome:
        """Apply a batch in stream order; idempotent; raises on a failed write."""
        ...


class ConsumerConfig(msgspec.Struct, frozen=True, kw_only=True):
    batch: int = 256
    block_ms: int = 2000
    claim_idle_ms: int = 30_000
    claim_interval_seconds: float = 5.0
    backoff_min_seconds: float = 0.2
    backoff_max_seconds: float = 10.0
    #: Consumers of the group idle this long with nothing pending are deleted.
    forget_consumers_after_ms: int = 3_600_000


class EventConsumer:
    def __init__(
        self,
        *,
        stream: EventStream,
        handler: BatchHandler,
        dead_letters: DeadLetterRepository | None,
        metrics: GroupMetrics,
        clock: Clock,
        config: ConsumerConfig,
        housekeeping: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._stream = stream
        self._handler = handler
        self._dead = dead_letters
        self._m = metrics
        self._clock = clock
        self._cfg = config
        self._housekeeping = housekeeping
        self._group_ready = False
        #: Read this consumer's own pending entries before new ones.
        self._pending = True
        self._stopped = False

    @property
    def name(self) -> str:
        return self._stream.consumer

    @property
    def group(self) -> str:
        return self._stream.group

    def stop(self) -> None:
        """Make ``run`` return at its next turn. Cancelling the task alone is not
        enough on Python 3.11: a cancellation that races with a read timeout
        inside the Redis client can come back as a timeout error, which the
        loop treats as a failure and retries (a shutdown then waits forever)."""
        self._stopped = True

    async def run(self) -> None:
        """Until cancelled or stopped. Never raises anything but ``CancelledError``."""
        backoff = self._cfg.backoff_min_seconds
        next_claim = 0.0
        _log.info("event consumer started", consumer=self.name, group=self._stream.group)
        while not self._stopped:
            try:
                await self._ensure_group()
                if time.monotonic() >= next_claim:
                    await self.claim()
                    await self.report()
                    if self._housekeeping is not None:
                        await self._housekeeping()
                    next_claim = time.monotonic() + self._cfg.claim_interval_seconds
                await self.step()
                backoff = self._cfg.backoff_min_seconds
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                dependency = (
                    "redis"
                    if isinstance(exc, RedisError)
                    else "mongodb"
                    if isinstance(exc, PyMongoError)
                    else "other"
                )
                self._m.errors.labels(dependency).inc()
                self._pending = True
                if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                    self._group_ready = False
                    backoff = self._cfg.backoff_min_seconds
                _log.warning(
                    "event consumer backing off",
                    group=self._stream.group,
                    dependency=dependency,
                    error=f"{type(exc).__name__}: {exc}"[:300],
                    seconds=round(backoff, 2),
                )
                await asyncio.sleep(random.uniform(backoff / 2, backoff))  # noqa: S311
                backoff = min(backoff * 2, self._cfg.backoff_max_seconds)

    async def step(self) -> int:
        """One read and its processing; returns the entries handled."""
        await self._ensure_group()
        entries = await self._stream.read(self._cfg.batch, self._cfg.block_ms, self._pending)
        if self._pending and not entries:
            self._pending = False
            return 0
        await self.process(entries)
        return len(entries)

    async def _ensure_group(self) -> None:
        if not self._group_ready:
            if await self._stream.ensure_group():
                _log.info("consumer group created", group=self._stream.group)
            self._group_ready = True

    async def claim(self) -> int:
        """Take over and process entries idle in dead consumers' pending lists."""
        await self._ensure_group()
        start, total = "0-0", 0
        for _ in range(100):
            start, entries = await self._stream.claim(
                self._cfg.claim_idle_ms, self._cfg.batch, start
            )
            if entries:
                self._m.claimed.inc(len(entries))
                _log.info(
                    "claimed idle entries",
                    count=len(entries),
                    consumer=self.name,
                    group=self._stream.group,
                )
                await self.process(entries)
                total += len(entries)
            if start in ("0-0", "0"):
                break
        return total

    async def report(self) -> None:
        await self._ensure_group()
        info = await self._stream.info()
        self._m.pending.set(info.pending)
        if info.lag >= 0:
            self._m.lag.set(info.lag)

    async def forget_idle_consumers(self) -> int:
        return await self._stream.forget_idle_consumers(self._cfg.forget_consumers_after_ms)

    async def process(self, entries: list[Entry]) -> None:
        """Decode, dead-letter what cannot be decoded, apply the rest, then XACK
        the whole batch. Raises (acknowledging nothing) when a write fails."""
        events: list[RoomEvent] = []
        dead: list[DeadLetter] = []
        now = self._clock()
        for entry_id, fields in entries:
            raw = fields.get(b"e")
            error = "entry has no field e" if fields else "entry trimmed before delivery"
            if raw is not None:
                try:
                    events.append(codec.decode_room_event(raw))
                    continue
                except CodecError as exc:
                    error = str(exc)
            dead.append(
                DeadLetter(
                    id=f"{self._stream.stream}/{entry_id}",
                    stream=self._stream.stream,
                    entry_id=entry_id,
                    error=error,
                    at_ms=now,
                    fields={k.decode("utf-8", "replace"): v for k, v in fields.items()},
                )
            )
        for letter in dead:
            if self._dead is not None:
                await self._dead.put(letter)
                _log.warning("dead letter", entry=letter.entry_id, error=letter.error)
        outcome = await self._handler.apply(events)
        await self._stream.ack([entry_id for entry_id, _ in entries])
        done = self._clock()
        for entry_id, _ in entries:
            ms = int(entry_id.split("-", 1)[0])
            self._m.ack_latency.observe(max(0, done - ms) / 1000)
        for e in events:
            self._m.consumed.labels(e.kind).inc()
        for kind in outcome.stale:
            self._m.stale.labels(kind).inc()
        if dead:
            self._m.dead_letters.inc(len(dead))
