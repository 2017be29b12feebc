"""Redis implementations: allocation (Lua), config cache, rate limits, command bus."""

from __future__ import annotations

from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from plaza_control import codec, redis_scripts
from plaza_control.codec import CodecError
from plaza_control.keyspace import Keyspace
from plaza_control.models import (
    Ban,
    Mute,
    RelayInfo,
    RoomInfo,
    RoomStateSnapshot,
    Seat,
    WorldConfigView,
    WorldSettings,
)
from plaza_control.redis_pool import RawCommands
from plaza_control.repositories.base import Admission, JoinOutcome, JoinRequest
from plaza_control.repositories.snapshots import forget_ended_snapshot

Redis = aioredis.Redis
#: The score of a confirmed seat (2^53-1, ``CONFIRMED`` in ``_common.lua``).
CONFIRMED_SCORE = 9007199254740991


class RedisScripts:
    """Every Lua script, registered once per process. redis-py sends EVALSHA and
    falls back to SCRIPT LOAD when the server lost its script cache."""

    def __init__(self, client: Redis) -> None:
        names = redis_scripts.ALLOCATION_SCRIPTS + redis_scripts.STANDALONE_SCRIPTS
        self._scripts: dict[str, AsyncScript] = {
            n: client.register_script(redis_scripts.source(n)) for n in names
        }

    def __getitem__(self, name: str) -> AsyncScript:
        return self._scripts[name]


def _b(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class RedisAllocator:
    def __init__(self, client: Redis, keyspace: Keyspace, scripts: RedisScripts) -> None:
        self._r = client
        self._raw = RawCommands(client)
        self._k = keyspace
        self._s = scripts
        # join.lua returns the chosen relay's heartbeat bytes; decoding them in
        # Python costs more than the rest of the step, and they change only every
        # few seconds per relay, so decoded values are memoised by exact bytes.
        self._heartbeats: dict[bytes, RelayInfo] = {}

    def _decode_heartbeat(self, raw: bytes) -> RelayInfo:
        info = self._heartbeats.get(raw)
        if info is None:
            info = codec.decode_heartbeat(raw)
            if len(self._heartbeats) >= 1024:
                self._heartbeats.clear()
            self._heartbeats[raw] = info
        return info

    async def relays(self) -> list[RelayInfo]:
        ids = sorted(_b(x) for x in await self._r.smembers(self._k.relays))
        if not ids:
            return []
        pipe = self._r.pipeline(transaction=False)
        pipe.mget([self._k.relay_hb(i) for i in ids])
        pipe.hgetall(self._k.relay_seats)
        pipe.smembers(self._k.draining)
        pipe.hgetall(self._k.drain_incarnations)
        hbs, seats, draining, incarnations = await pipe.execute()
        seat_map = {_b(k): int(v) for k, v in seats.items()}
        drain_set = {_b(x) for x in draining}
        boots = {_b(k): _b(v) for k, v in incarnations.items()}
        out: list[RelayInfo] = []
        for relay_id, raw in zip(ids, hbs, strict=True):
            if raw is None:
                continue
            try:
                info = self._decode_heartbeat(raw)
            except CodecError:
                continue
            if info.relay_id != relay_id:
                continue
            out.append(
                msgspec.structs.replace(
                    info,
                    seats=seat_map.get(relay_id, 0),
                    drain_requested=relay_id in drain_set,
                    drain_boot_id=boots.get(relay_id, "") if relay_id in drain_set else "",
                )
            )
        return out

    async def join(self, req: JoinRequest) -> JoinOutcome:
        args: list[Any] = [
            self._k.alloc,
            req.now_ms,
            req.reservation_ms,
            req.world_id,
            req.room_capacity,
            req.user_id,
            req.wanted_room,
            req.new_room_id,
            req.scan_limit,
            req.empty_grace_ms,
            len(req.candidates),
        ]
        for c in req.candidates:
            args.extend((c.relay_id, c.capacity_connections, c.connections))
        res = await self._raw.script(self._s["join"], [self._k.relays], args)
        status = _b(res[0])
        if status != "OK":
            return JoinOutcome(status=status.lower())  # type: ignore[arg-type]
        relay = self._decode_heartbeat(res[3])
        return JoinOutcome(
            status="ok",
            room_id=_b(res[1]),
            relay=relay,
            seats=int(res[4]),
            created=bool(res[5]),
            reused=bool(res[6]),
            room_lifetime=int(res[7]),
        )

    async def confirm_seat(self, room_id: str, user_id: str) -> bool:
        res = await self._s["seat_confirm"](
            keys=[self._k.relays], args=[self._k.alloc, room_id, user_id]
        )
        return bool(res)

    async def release_seat(self, room_id: str, user_id: str, now_ms: int) -> bool:
        res = await self._s["seat_release"](
            keys=[self._k.relays], args=[self._k.alloc, room_id, user_id, now_ms]
        )
        return bool(res)

    async def release_room(self, room_id: str) -> str:
        res = await self._s["room_release"](keys=[self._k.relays], args=[self._k.alloc, room_id])
        await forget_ended_snapshot(self._r, self._k, room_id)
        return _b(res)

    async def sweep(self, now_ms: int) -> int:
        await self._forget_dead_relays()
        await self._forget_past_drains()
        released = 0
        cursor: int = 0
        while True:
            cursor, batch = await self._r.sscan(self._k.rooms, cursor, count=200)
            ids: list[str] = [_b(b) for b in batch]
            if ids:
                ended = await self._s["sweep"](
                    keys=[self._k.relays], args=[self._k.alloc, now_ms, *ids]
                )
                for room_id in ended:
                    await forget_ended_snapshot(self._r, self._k, _b(room_id))
                released += len(ended)
            if cursor == 0:
                return released

    async def _forget_dead_relays(self) -> None:
        """Drop relays whose heartbeat key expired from the index and the drain set.
        A relay that heartbeats again re-adds itself (SADD with every heartbeat)."""
        ids = [_b(x) for x in await self._r.smembers(self._k.relays)]
        if not ids:
            return
        pipe = self._r.pipeline(transaction=False)
        for i in ids:
            pipe.exists(self._k.relay_hb(i))
        alive = await pipe.execute()
        dead = [i for i, ok in zip(ids, alive, strict=True) if not ok]
        if dead:
            pipe = self._r.pipeline(transaction=False)
            pipe.srem(self._k.relays, *dead)
            pipe.srem(self._k.draining, *dead)
            pipe.hdel(self._k.drain_incarnations, *dead)
            await pipe.execute()

    async def _forget_past_drains(self) -> None:
        """A drain is for one incarnation (decisions/009): drop the mark of a relay
        whose live heartbeat shows another boot id, or that has no heartbeat. A
        mark with no incarnation (written before that) is dropped once the relay
        reports itself ``starting`` or ``ready``. Each removal is a compare-and-
        delete (undrain.lua), so a drain written meanwhile is kept."""
        pipe = self._r.pipeline(transaction=False)
        pipe.smembers(self._k.draining)
        pipe.hgetall(self._k.drain_incarnations)
        draining, incarnations = await pipe.execute()
        ids = sorted(_b(x) for x in draining)
        if not ids:
            return
        boots = {_b(k): _b(v) for k, v in incarnations.items()}
        hbs = await self._r.mget([self._k.relay_hb(i) for i in ids])
        for relay_id, raw in zip(ids, hbs, strict=True):
            recorded = boots.get(relay_id)
            expected = "-" if recorded is None else "=" + recorded
            if raw is None:
                await self._undrain(relay_id, expected)
                continue
            try:
                info = self._decode_heartbeat(raw if isinstance(raw, bytes) else raw.encode())
            except CodecError:
                continue
            if recorded is None:
                if info.state in ("starting", "ready"):
                    await self._undrain(relay_id, expected)
            elif info.boot_id != recorded:
                await self._undrain(relay_id, expected)

    async def _undrain(self, relay_id: str, expected: str) -> bool:
        res = await self._s["undrain"](
            keys=[self._k.relays], args=[self._k.alloc, relay_id, expected]
        )
        return bool(res)

    async def _room_infos(self, room_ids: list[str]) -> list[RoomInfo]:
        pipe = self._r.pipeline(transaction=False)
        for r in room_ids:
            pipe.hmget(self._k.room(r), ["world", "relay", "created_ms", "lifetime"])
            pipe.zcard(self._k.room_seats(r))
        res = await pipe.execute()
        out: list[RoomInfo] = []
        for i, r in enumerate(room_ids):
            world, relay, created, lifetime = res[2 * i]
            if world is None or relay is None:
                continue
            out.append(
                RoomInfo(
                    room_id=r,
                    world_id=_b(world),
                    relay_id=_b(relay),
                    seats=int(res[2 * i + 1]),
                    created_at_ms=int(created or 0),
                    lifetime=int(lifetime or 0),
                )
            )
        return out

    async def rooms(
        self,
        world_id: str | None,
        limit: int,
        *,
        after: str | None = None,
        relay_id: str | None = None,
        min_seats: int = 0,
        max_seats: int | None = None,
    ) -> list[RoomInfo]:
        if relay_id is not None:
            raw: Any = await self._r.smembers(self._k.relay_rooms(relay_id))
        elif world_id is not None:
            raw = await self._r.zrange(self._k.world_rooms(world_id), 0, -1)
        else:
            raw = await self._r.smembers(self._k.rooms)
        ids = sorted(_b(x) for x in raw if isinstance(x, bytes | str))
        if after is not None:
            ids = [i for i in ids if i > after]
        out: list[RoomInfo] = []
        chunk = max(limit, 100)
        for start in range(0, len(ids), chunk):
            for info in await self._room_infos(ids[start : start + chunk]):
                if not _room_matches(info, world_id, relay_id, min_seats, max_seats):
                    continue
                out.append(info)
                if len(out) == limit:
                    return out
        return out

    async def seats(self, room_id: str) -> list[Seat]:
        pipe = self._r.pipeline(transaction=False)
        pipe.zrange(self._k.room_seats(room_id), 0, -1, withscores=True)
        pipe.hgetall(self._k.room_sessions(room_id))
        scored, sessions = await pipe.execute()
        by_user = {_b(k): _b(v) for k, v in sessions.items()}
        out: list[Seat] = []
        for member, score in scored:
            user = _b(member)
            confirmed = int(score) >= CONFIRMED_SCORE
            out.append(
                Seat(
                    user_id=user,
                    confirmed=confirmed,
                    expires_at_ms=0 if confirmed else int(score),
                    session_id=by_user.get(user, ""),
                )
            )
        return sorted(out, key=lambda x: x.user_id)

    async def room_state(self, room_id: str) -> RoomStateSnapshot | None:
        raw = await self._r.get(self._k.room_snapshot(room_id))
        if raw is None:
            return None
        return codec.decode_room_state(raw if isinstance(raw, bytes) else raw.encode())

    async def room(self, room_id: str) -> RoomInfo | None:
        found = await self._room_infos([room_id])
        return found[0] if found else None

    async def user_room(self, user_id: str) -> str | None:
        raw = await self._r.hget(self._k.user_seats, user_id)
        return None if raw is None else _b(raw)

    async def last_lifetime(self, room_id: str) -> int:
        return int(await self._r.hget(self._k.room_lifetimes, room_id) or 0)

    async def mark_draining(self, relay_id: str, boot_id: str = "") -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.sadd(self._k.draining, relay_id)
        pipe.hset(self._k.drain_incarnations, relay_id, boot_id)
        await pipe.execute()

    async def unmark_draining(self, relay_id: str) -> bool:
        return await self._undrain(relay_id, "")


def _room_matches(
    info: RoomInfo,
    world_id: str | None,
    relay_id: str | None,
    min_seats: int,
    max_seats: int | None,
) -> bool:
    return (
        (world_id is None or info.world_id == world_id)
        and (relay_id is None or info.relay_id == relay_id)
        and info.seats >= min_seats
        and (max_seats is None or info.seats <= max_seats)
    )


class BanCacheEntry(msgspec.Struct, frozen=True):
    reason: str
    until_ms: int
    by: str
    at_ms: int


class MuteCacheEntry(msgspec.Struct, frozen=True):
    reason: str
    until_ms: int
    by: str
    at_ms: int
    room_id: str = ""


def decode_mute(user_id: str, raw: bytes | None) -> Mute | None:
    if raw is None:
        return None
    e = msgspec.json.decode(raw, type=MuteCacheEntry)
    return Mute(
        user_id=user_id,
        reason=e.reason,
        until_ms=e.until_ms,
        by=e.by,
        at_ms=e.at_ms,
        room_id=e.room_id,
    )


class RedisConfigCache:
    """World configs as WorldConfig FlatBuffers bytes (what relays read too);
    bans as small JSON documents with a TTL until they end."""

    def __init__(self, client: Redis, keyspace: Keyspace) -> None:
        self._r = client
        self._k = keyspace
        # Decoding FlatBuffers in Python costs ~0.2 ms; the bytes rarely change, so
        # decoded views are memoised by the exact bytes read (never stale).
        self._decoded: dict[bytes, WorldConfigView] = {}

    def _decode_world(self, raw: bytes) -> WorldConfigView | None:
        view = self._decoded.get(raw)
        if view is None:
            try:
                view = codec.decode_world_config(raw)
            except CodecError:
                return None
            if len(self._decoded) >= 1024:
                self._decoded.clear()
            self._decoded[raw] = view
        return view

    async def put_world(self, world_id: str, version: int, settings: WorldSettings) -> None:
        await self._r.set(
            self._k.world_config(world_id), codec.encode_world_config(world_id, version, settings)
        )

    async def drop_world(self, world_id: str) -> None:
        await self._r.delete(self._k.world_config(world_id))

    async def put_ban(self, ban: Ban) -> None:
        entry = msgspec.json.encode(BanCacheEntry(ban.reason, ban.until_ms, ban.by, ban.at_ms))
        key = self._k.ban(ban.user_id)
        if ban.until_ms:
            await self._r.set(key, entry, pxat=ban.until_ms)
        else:
            await self._r.set(key, entry)

    async def drop_ban(self, user_id: str) -> None:
        await self._r.delete(self._k.ban(user_id))

    async def put_mute(self, mute: Mute) -> None:
        entry = msgspec.json.encode(
            MuteCacheEntry(mute.reason, mute.until_ms, mute.by, mute.at_ms, mute.room_id)
        )
        key = self._k.mute(mute.user_id)
        if mute.until_ms:
            await self._r.set(key, entry, pxat=mute.until_ms)
        else:
            await self._r.set(key, entry)

    async def drop_mute(self, user_id: str) -> bool:
        return bool(await self._r.delete(self._k.mute(user_id)))

    async def ban(self, user_id: str) -> Ban | None:
        """The user's cached ban (may have ended: readers check ``Ban.active``)."""
        raw = await self._r.get(self._k.ban(user_id))
        return self.decode(
            user_id, None, raw if raw is None or isinstance(raw, bytes) else raw.encode()
        )[1]

    async def lookup(
        self, world_id: str, user_id: str
    ) -> tuple[WorldConfigView | None, Ban | None]:
        pipe = self._r.pipeline(transaction=False)
        pipe.get(self._k.world_config(world_id))
        pipe.get(self._k.ban(user_id))
        raw_world, raw_ban = await pipe.execute()
        return self.decode(user_id, raw_world, raw_ban)

    def decode(
        self, user_id: str, raw_world: bytes | None, raw_ban: bytes | None
    ) -> tuple[WorldConfigView | None, Ban | None]:
        world = None if raw_world is None else self._decode_world(raw_world)
        ban = None
        if raw_ban is not None:
            e = msgspec.json.decode(raw_ban, type=BanCacheEntry)
            ban = Ban(user_id=user_id, reason=e.reason, until_ms=e.until_ms, by=e.by, at_ms=e.at_ms)
        return world, ban


class RedisBanReader:
    """``BanReader`` on the ban cache ``P ban:{<user_id>}``, the one the join path
    reads: written with every ban and unban, rewritten from MongoDB at start and
    every ``PLAZA_CACHE_REFRESH_SECONDS``; so sign-in needs no MongoDB read."""

    def __init__(self, cache: RedisConfigCache) -> None:
        self._cache = cache

    async def get(self, user_id: str) -> Ban | None:
        return await self._cache.ban(user_id)


def _rate_commands(
    keyspace: Keyspace, buckets: list[tuple[str, str, int]], window_ms: int
) -> list[tuple[str | int, ...]]:
    """``INCR`` then ``PEXPIRE .. NX`` per bucket, as built commands (RawCommands)."""
    cmds: list[tuple[str | int, ...]] = []
    for scope, subject, _limit in buckets:
        key = keyspace.rate(scope, subject)
        cmds += [("INCR", key), ("PEXPIRE", key, window_ms, "NX")]
    return cmds


async def _rate_wait(
    r: Redis, keyspace: Keyspace, buckets: list[tuple[str, str, int]], counts: list[Any]
) -> int | None:
    over = [
        keyspace.rate(scope, subject)
        for (scope, subject, limit), count in zip(buckets, counts, strict=True)
        if int(count) > limit
    ]
    if not over:
        return None
    ttls = [int(await r.pttl(k)) for k in over]
    return max(*ttls, 1)


class RedisJoinGate:
    """Rate-limit counters and the config/ban cache reads, pipelined together."""

    def __init__(self, client: Redis, keyspace: Keyspace, cache: RedisConfigCache) -> None:
        self._r = client
        self._raw = RawCommands(client)
        self._k = keyspace
        self._cache = cache

    async def admit(
        self, buckets: list[tuple[str, str, int]], window_ms: int, world_id: str, user_id: str
    ) -> Admission:
        # Built commands in one batch (redis_pool.RawCommands): the same seven
        # commands redis-py's Pipeline would send, for less CPU per join.
        cmds = _rate_commands(self._k, buckets, window_ms)
        cmds += [
            ("GET", self._k.world_config(world_id)),
            ("GET", self._k.ban(user_id)),
            ("GET", self._k.mute(user_id)),
        ]
        res = await self._raw.run(cmds)
        n = 2 * len(buckets)
        wait = await _rate_wait(self._r, self._k, buckets, res[0:n:2])
        world, ban = self._cache.decode(user_id, res[n], res[n + 1])
        return Admission(wait_ms=wait, world=world, ban=ban, mute=decode_mute(user_id, res[n + 2]))


class RedisRateLimiter:
    """Fixed windows: ``INCR`` then ``PEXPIRE .. NX`` per bucket, one batched
    round trip, no script (each key stands alone, so any cluster slot works). If a
    process dies between the two commands the next request sets the expiry (NX
    only sets a missing one)."""

    def __init__(self, client: Redis, keyspace: Keyspace) -> None:
        self._r = client
        self._raw = RawCommands(client)
        self._k = keyspace

    async def hit(self, buckets: list[tuple[str, str, int]], window_ms: int) -> int | None:
        results = await self._raw.run(_rate_commands(self._k, buckets, window_ms))
        return await _rate_wait(self._r, self._k, buckets, results[::2])


class RedisCommandBus:
    def __init__(self, client: Redis, keyspace: Keyspace) -> None:
        self._r = client
        self._k = keyspace

    async def publish(self, relay_id: str, payload: bytes) -> int:
        channel = self._k.cmd_relay(relay_id) if relay_id else self._k.cmd_all
        return int(await self._r.publish(channel, payload))

    async def subscribers(self, relay_id: str) -> int:
        channel = self._k.cmd_relay(relay_id) if relay_id else self._k.cmd_all
        [(_, n)] = await self._r.pubsub_numsub(channel)
        return int(n)
