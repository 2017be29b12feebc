"""The one container: clients, stores and services of one app instance, built
and closed by the lifespan. The event side (stores, reads, the two consumer
groups) is built here too; nothing else wires services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import redis.asyncio as aioredis
import structlog
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from plaza_control import signing_keys
from plaza_control.clock import system_clock_ms
from plaza_control.events import mongo as event_mongo
from plaza_control.events.consumer import (
    BatchHandler,
    ConsumerConfig,
    EventConsumer,
    consumer_name,
)
from plaza_control.events.handlers import EventHandler, SeatEventHandler, mirror_relay_drains
from plaza_control.events.reads import ChatHistoryService, EventRecordsService
from plaza_control.events.redis import RedisEventSeats, RedisEventStream
from plaza_control.keyspace import Keyspace
from plaza_control.models import Role
from plaza_control.observability import Metrics
from plaza_control.redis_pool import join_path_client
from plaza_control.repositories import mongo
from plaza_control.repositories.identity import HttpJwksSource
from plaza_control.repositories.redis import (
    RedisAllocator,
    RedisBanReader,
    RedisCommandBus,
    RedisConfigCache,
    RedisJoinGate,
    RedisRateLimiter,
    RedisScripts,
)
from plaza_control.repositories.tombstones import trim_ended_sessions
from plaza_control.repositories.user_cache import CachedUserRepository, RedisUserCache
from plaza_control.services.commands import CommandService
from plaza_control.services.identity import IdentityVerifier
from plaza_control.services.join import JoinPolicy, JoinService
from plaza_control.services.operators import ApiKeyService, Auditor
from plaza_control.services.ops import OpsService
from plaza_control.services.pacing import JoinPacer
from plaza_control.services.players import PlayerService, SignInLimits
from plaza_control.services.worlds import WorldService
from plaza_control.settings import Settings
from plaza_control.signing_keys import KeyRing
from plaza_control.tokens import SessionTokens, TicketMinter

__all__ = ["KeyRingHolder", "Role", "Services"]

_log = structlog.get_logger("plaza.container")


class KeyRingHolder:
    """The current ``KeyRing``; ``reload()`` re-reads the key directory."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.ring = self._load()

    def _load(self) -> KeyRing:
        s = self._settings
        if s.signing_key_pem:
            return signing_keys.ring_from_env(
                s.signing_key_pem,
                s.signing_key_id,
                s.previous_signing_key_pem,
                s.previous_signing_key_id,
            )
        return signing_keys.build_ring(
            signing_keys.load_dir(Path(s.key_dir)), time.time(), s.key_activation_seconds
        )

    def reload(self) -> None:
        self.ring = self._load()

    def __call__(self) -> KeyRing:
        return self.ring


class Services:
    """Everything a request handler may need. Built and closed by the lifespan."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        s = settings
        self.settings = s
        self.metrics = metrics
        self.redis: aioredis.Redis = aioredis.Redis.from_url(
            s.redis_url,
            decode_responses=False,
            socket_timeout=5,
            socket_connect_timeout=2,
            max_connections=256,
            health_check_interval=30,
        )
        self.mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            s.mongo_url,
            serverSelectionTimeoutMS=s.mongo_timeout_ms,
            connectTimeoutMS=s.mongo_timeout_ms,
            tz_aware=True,
        )
        self.db = self.mongo[s.mongo_db]
        self.http = httpx.AsyncClient(timeout=5.0)
        self.keyspace = Keyspace(s.redis_prefix)
        self.key_ring = KeyRingHolder(s)
        scripts = RedisScripts(self.redis)
        clock = system_clock_ms

        self.allocator = RedisAllocator(self.redis, self.keyspace, scripts)
        # The join path has a pool of its own (redis_pool.py: one timeout per join
        # instead of one per reply read, no health-check PING).
        self.join_redis = join_path_client(s.redis_url)
        join_allocator = RedisAllocator(
            self.join_redis, self.keyspace, RedisScripts(self.join_redis)
        )
        self.cache = RedisConfigCache(self.redis, self.keyspace)
        self.limiter = RedisRateLimiter(self.redis, self.keyspace)
        # Sign-in reads users from Redis first (records never change).
        users = CachedUserRepository(
            mongo.MongoUserRepository(self.db), RedisUserCache(self.redis, self.keyspace)
        )
        bans = mongo.MongoBanRepository(self.db)
        self.auditor = Auditor(mongo.MongoAuditRepository(self.db), clock)
        self.commands = CommandService(
            mongo.MongoCommandRepository(self.db),
            RedisCommandBus(self.redis, self.keyspace),
            clock,
            deadline_ms=s.command_deadline_seconds * 1000,
            sent=lambda kind: self.metrics.commands.labels(kind).inc(),
        )
        self.api_keys = ApiKeyService(mongo.MongoApiKeyRepository(self.db), clock, self.auditor)
        self.sessions = SessionTokens(
            signing_keys.session_secret(Path(s.key_dir), s.session_secret),
            s.issuer,
            s.session_ttl_seconds,
        )
        identity = None
        if s.identity_enabled():
            identity = IdentityVerifier(
                HttpJwksSource(self.http, s.identity_jwks_url),
                s.identity_issuer,
                s.identity_audience,
                [a.strip() for a in s.identity_algorithms.split(",") if a.strip()],
            )
        window_ms = s.rate_window_seconds * 1000
        self.players = PlayerService(
            users=users,
            bans=RedisBanReader(self.cache),
            refresh_tokens=mongo.MongoRefreshTokenRepository(self.db),
            sessions=self.sessions,
            identity=identity,
            limiter=self.limiter,
            limits=SignInLimits(window_ms, s.signin_per_ip, s.signin_per_device),
            refresh_ttl_ms=s.refresh_ttl_seconds * 1000,
            clock=clock,
        )
        self.worlds = WorldService(
            mongo.MongoWorldRepository(self.db), self.cache, self.commands, self.auditor, clock
        )
        self.ops = OpsService(
            users=users,
            bans=bans,
            cache=self.cache,
            allocator=self.allocator,
            commands=self.commands,
            auditor=self.auditor,
            clock=clock,
        )
        self.join = JoinService(
            gate=RedisJoinGate(self.join_redis, self.keyspace, self.cache),
            allocator=join_allocator,
            minter=TicketMinter(self.key_ring, s.issuer, s.ticket_ttl_seconds),
            policy=JoinPolicy(
                reservation_ms=s.seat_reservation_seconds * 1000,
                relay_cache_ms=s.relay_cache_ms,
                scan_limit=s.room_scan_limit,
                window_ms=window_ms,
                per_ip=s.join_per_ip,
                per_user=s.join_per_user,
                retry_after_seconds=s.join_retry_after_seconds,
            ),
            clock=clock,
        )
        self.pacer = JoinPacer.from_settings(s, self.metrics.join_pacing.count_refusal)
        self.metrics.join_pacing.observe(self.pacer.backlog_seconds, self.pacer.pending_bookings)

        # The event side: what the consumers write and the routes read.
        self.chat_store = event_mongo.MongoChatRepository(self.db)
        self.session_store = event_mongo.MongoSessionRepository(self.db)
        self.ack_store = event_mongo.MongoCommandAckRepository(self.db)
        self.dead_letters = event_mongo.MongoDeadLetterRepository(self.db)
        self.chat_history = ChatHistoryService(self.chat_store, self.allocator)
        self.event_records = EventRecordsService(
            self.ack_store, self.session_store, self.allocator, users
        )
        self._consumer_clients: list[aioredis.Redis] = []
        self._consumers: list[EventConsumer] = []

    async def start(self) -> None:
        """Create indexes and warm the Redis caches from MongoDB. MongoDB being down
        does not stop the process: the join path needs Redis only, /readyz reports
        the outage, and the maintenance loop warms the caches once MongoDB is back."""
        try:
            await mongo.ensure_indexes(self.db)
            await self.worlds.warm_cache()
            await self.ops.warm_bans()
        except PyMongoError as exc:
            _log.warning("mongodb unavailable at start", error=type(exc).__name__)

    def _consumer_client(self) -> aioredis.Redis:
        """A Redis connection pool of one consumer: a blocking XREADGROUP holds a
        connection, and its socket timeout must exceed the block time."""
        s = self.settings
        client: aioredis.Redis = aioredis.Redis.from_url(
            s.redis_url,
            decode_responses=False,
            socket_timeout=s.events_block_ms / 1000 + 5,
            socket_connect_timeout=2,
            health_check_interval=30,
        )
        self._consumer_clients.append(client)
        return client

    def _event_stream(
        self, client: aioredis.Redis, group: str, name: str | None
    ) -> RedisEventStream:
        s = self.settings
        return RedisEventStream(
            client,
            self.keyspace,
            group,
            name or consumer_name(),
            siblings=(s.events_group, s.events_seats_group),
            # A seats group missing next to an existing control group: the control
            # group was made by a version that confirmed seats itself.
            follow=s.events_group if group == s.events_seats_group else "",
        )

    def _consumer(
        self,
        stream: RedisEventStream,
        handler: BatchHandler,
        dead_letters: event_mongo.MongoDeadLetterRepository | None,
        chore: Callable[[], Awaitable[object]],
    ) -> EventConsumer:
        s = self.settings
        consumer: EventConsumer

        async def housekeeping() -> None:
            await chore()
            await consumer.forget_idle_consumers()

        consumer = EventConsumer(
            stream=stream,
            handler=handler,
            dead_letters=dead_letters,
            metrics=self.metrics.events.group(stream.group),
            clock=system_clock_ms,
            config=ConsumerConfig(
                batch=s.events_batch,
                block_ms=s.events_block_ms,
                claim_idle_ms=s.events_claim_idle_ms,
                claim_interval_seconds=s.events_claim_interval_seconds,
            ),
            housekeeping=housekeeping,
        )
        return consumer

    def records_consumer(self, name: str | None = None) -> EventConsumer:
        """A consumer of the ``control`` group: sessions, chat, command acks and
        dead letters in MongoDB. Never touches seats."""
        handler = EventHandler(
            chat=self.chat_store, sessions=self.session_store, acks=self.ack_store
        )
        indexed = False

        async def ensure_indexes() -> None:
            nonlocal indexed
            if not indexed:
                await event_mongo.ensure_history_indexes(self.db)
                indexed = True

        stream = self._event_stream(self._consumer_client(), self.settings.events_group, name)
        return self._consumer(stream, handler, self.dead_letters, ensure_indexes)

    def seat_consumer(self, name: str | None = None) -> EventConsumer:
        """A consumer of the ``seats`` group: seat_confirm / seat_release /
        room_release in Redis, and relay-reported drains; never waits on MongoDB.
        Undecodable entries are only counted (the control group stores them)."""
        s = self.settings
        client = self._consumer_client()
        seats = RedisEventSeats(
            client,
            self.keyspace,
            RedisScripts(client),
            ended_ttl_ms=s.events_ended_ttl_seconds * 1000,
        )
        handler = SeatEventHandler(seats=seats, clock=system_clock_ms)
        stream = self._event_stream(client, s.events_seats_group, name)

        async def chores() -> None:
            await mirror_relay_drains(self.allocator)
            await trim_ended_sessions(client, self.keyspace, s.events_seats_group)

        return self._consumer(stream, handler, None, chores)

    def start_consumers(self) -> list[asyncio.Task[None]]:
        """Both consumer tasks, if ``PLAZA_EVENTS_CONSUMER`` is on."""
        if not self.settings.events_consumer:
            return []
        self._consumers = [self.seat_consumer(), self.records_consumer()]
        return [asyncio.create_task(c.run(), name=f"events-{c.group}") for c in self._consumers]

    def stop_consumers(self) -> None:
        """Ask the started consumers to return (see ``EventConsumer.stop``)."""
        for c in self._consumers:
            c.stop()

    async def close(self) -> None:
        for c in self._consumer_clients:
            await c.aclose()
        self._consumer_clients.clear()
        await self.http.aclose()
        await self.redis.aclose()
        await self.join_redis.aclose()
        await self.mongo.close()
