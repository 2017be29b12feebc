"""Builds the event side of one app instance from its ``Services``: the stores,
the read services the routes use, the two consumer tasks (groups ``control``
and ``seats``) and the join pacer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
import structlog

from plaza_control.clock import system_clock_ms
from plaza_control.container import Services
from plaza_control.events.consumer import (
    BatchHandler,
    ConsumerConfig,
    EventConsumer,
    consumer_name,
)
from plaza_control.events.metrics import EventMetrics
from plaza_control.repositories import history
from plaza_control.repositories.event_stream import RedisEventSeats, RedisEventStream
from plaza_control.repositories.redis import RedisScripts
from plaza_control.services.chat import ChatHistoryService, EventRecordsService
from plaza_control.services.events import EventHandler
from plaza_control.services.pacing import JoinPacer
from plaza_control.services.seats import SeatEventHandler

_log = structlog.get_logger("plaza.events")


class EventServices:
    """Held on ``app.state.events``; closed by the lifespan."""

    def __init__(self, svc: Services, metrics: EventMetrics) -> None:
        s = svc.settings
        self.svc = svc
        self.metrics = metrics
        db = svc.db
        self.chat_store = history.MongoChatRepository(db)
        self.session_store = history.MongoSessionRepository(db)
        self.ack_store = history.MongoCommandAckRepository(db)
        self.dead_letters = history.MongoDeadLetterRepository(db)
        self.chat = ChatHistoryService(self.chat_store, svc.allocator)
        self.records = EventRecordsService(self.ack_store, self.session_store)
        self.pacer = JoinPacer(s.join_max_in_flight, s.join_retry_after_seconds)
        self._clients: list[aioredis.Redis] = []
        self._consumers: list[EventConsumer] = []

    def _client(self) -> aioredis.Redis:
        """A Redis connection pool of one consumer: a blocking XREADGROUP holds a
        connection, and its socket timeout must exceed the block time."""
        s = self.svc.settings
        client: aioredis.Redis = aioredis.Redis.from_url(
            s.redis_url,
            decode_responses=False,
            socket_timeout=s.events_block_ms / 1000 + 5,
            socket_connect_timeout=2,
            health_check_interval=30,
        )
        self._clients.append(client)
        return client

    def _config(self) -> ConsumerConfig:
        s = self.svc.settings
        return ConsumerConfig(
            batch=s.events_batch,
            block_ms=s.events_block_ms,
            claim_idle_ms=s.events_claim_idle_ms,
            claim_interval_seconds=s.events_claim_interval_seconds,
        )

    def _stream(self, client: aioredis.Redis, group: str, name: str | None) -> RedisEventStream:
        s = self.svc.settings
        groups = (s.events_group, s.events_seats_group)
        return RedisEventStream(
            client,
            self.svc.keyspace,
            group,
            name or consumer_name(),
            siblings=groups,
            # A seats group missing next to an existing control group: the control
            # group was made by a version that confirmed seats itself.
            follow=s.events_group if group == s.events_seats_group else "",
        )

    def _consumer(
        self,
        stream: RedisEventStream,
        handler: BatchHandler,
        dead_letters: history.MongoDeadLetterRepository | None,
        chore: Callable[[], Awaitable[object]],
    ) -> EventConsumer:
        consumer: EventConsumer

        async def housekeeping() -> None:
            await chore()
            await consumer.forget_idle_consumers()

        consumer = EventConsumer(
            stream=stream,
            handler=handler,
            dead_letters=dead_letters,
            metrics=self.metrics.group(stream.group),
            clock=system_clock_ms,
            config=self._config(),
            housekeeping=housekeeping,
        )
        return consumer

    def consumer(self, name: str | None = None) -> EventConsumer:
        """A consumer of the ``control`` group: sessions, chat, command acks and
        dead letters in MongoDB. Never touches seats."""
        s = self.svc.settings
        client = self._client()
        handler = EventHandler(
            chat=self.chat_store, sessions=self.session_store, acks=self.ack_store
        )
        indexed = False

        async def ensure_indexes() -> None:
            nonlocal indexed
            if not indexed:
                await history.ensure_history_indexes(self.svc.db)
                indexed = True

        stream = self._stream(client, s.events_group, name)
        return self._consumer(stream, handler, self.dead_letters, ensure_indexes)

    def seat_consumer(self, name: str | None = None) -> EventConsumer:
        """A consumer of the ``seats`` group: seat_confirm / seat_release /
        room_release in Redis, and relay-reported drains; never waits on MongoDB.
        Undecodable entries are only counted (the control group stores them)."""
        s = self.svc.settings
        client = self._client()
        seats = RedisEventSeats(
            client,
            self.svc.keyspace,
            RedisScripts(client),
            ended_ttl_ms=s.events_ended_ttl_seconds * 1000,
        )
        handler = SeatEventHandler(seats=seats, clock=system_clock_ms)
        stream = self._stream(client, s.events_seats_group, name)
        return self._consumer(stream, handler, None, lambda: mirror_relay_drains(self.svc))

    def start(self) -> list[asyncio.Task[None]]:
        """Both consumer tasks, if ``PLAZA_EVENTS_CONSUMER`` is on."""
        if not self.svc.settings.events_consumer:
            return []
        self._consumers = [self.seat_consumer(), self.consumer()]
        return [
            asyncio.create_task(c.run(), name=f"events-{c._stream.group}") for c in self._consumers
        ]

    def stop(self) -> None:
        """Ask the started consumers to return (see ``EventConsumer.stop``)."""
        for c in self._consumers:
            c.stop()

    async def close(self) -> None:
        for c in self._clients:
            await c.aclose()
        self._clients.clear()


async def mirror_relay_drains(svc: Services) -> int:
    """A relay draining on its own (SIGTERM) reports it in its heartbeat; adding it
    to ``A draining`` lets join.lua move its rooms once they are empty, exactly as
    after an operator's drain. The sweeper removes it when its heartbeat expires."""
    n = 0
    for r in await svc.allocator.relays():
        if r.state in ("draining", "stopping") and not r.drain_requested:
            await svc.allocator.mark_draining(r.relay_id)
            n += 1
    return n
