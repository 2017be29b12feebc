"""In-process fakes of the repository contracts (``repositories/base.py``), for
the service unit tests. Test code, not shipped in the wheel.

Every fake is held to its real implementation by a conformance suite that runs
the same cases against both: ``test_allocator.py`` (``MemoryAllocator`` against
join.lua and the other allocation scripts on Redis) and ``test_repositories.py``
(the Mongo stores on FerretDB, the Redis cache, rate limiter, join gate and
command bus). A fake may keep less than its real twin only where its contract
leaves it open (stated in the suite). Relay choice is ``placement.pick_relay``,
the same function join.lua is tested against.
"""

from __future__ import annotations

import msgspec

from plaza_control import codec, placement
from plaza_control.errors import Conflict, NotFound
from plaza_control.models import (
    ApiKey,
    AuditEntry,
    AuditFilter,
    Ban,
    CommandRecord,
    Mute,
    RefreshRecord,
    RelayInfo,
    RoomInfo,
    RoomStateSnapshot,
    Seat,
    User,
    World,
    WorldConfigView,
    WorldSettings,
)
from plaza_control.repositories.base import Admission, JoinOutcome, JoinRequest
from plaza_control.repositories.snapshots import lifetime_ended

CONFIRMED = 9007199254740991


class MemoryUserRepository:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}

    async def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def by_device(self, device_hash: str) -> User | None:
        return next((u for u in self.users.values() if u.device_hash == device_hash), None)

    async def by_external(self, external_key: str) -> User | None:
        return next((u for u in self.users.values() if u.external_key == external_key), None)

    async def create(self, user: User) -> User:
        existing = None
        if user.device_hash:
            existing = await self.by_device(user.device_hash)
        elif user.external_key:
            existing = await self.by_external(user.external_key)
        if existing is not None:
            return existing
        if user.id in self.users:
            raise Conflict("user id collision")
        self.users[user.id] = user
        return user

    async def page(
        self,
        limit: int,
        after: str | None,
        *,
        name_prefix: str | None = None,
        device_hash: str | None = None,
        external_key: str | None = None,
    ) -> list[User]:
        ids = sorted(i for i in self.users if after is None or i > after)
        found = [
            u
            for u in (self.users[i] for i in ids)
            if (name_prefix is None or u.display_name.startswith(name_prefix))
            and (device_hash is None or u.device_hash == device_hash)
            and (external_key is None or u.external_key == external_key)
        ]
        return found[:limit]


class MemoryBanRepository:
    def __init__(self) -> None:
        self.bans: dict[str, Ban] = {}

    async def put(self, ban: Ban) -> None:
        self.bans[ban.user_id] = ban

    async def delete(self, user_id: str) -> bool:
        return self.bans.pop(user_id, None) is not None

    async def get(self, user_id: str) -> Ban | None:
        return self.bans.get(user_id)

    async def all(self) -> list[Ban]:
        return list(self.bans.values())


class MemoryRefreshTokenRepository:
    def __init__(self) -> None:
        self.records: dict[str, RefreshRecord] = {}

    async def insert(self, record: RefreshRecord) -> None:
        self.records[record.hash] = record

    async def get(self, token_hash: str) -> RefreshRecord | None:
        return self.records.get(token_hash)

    async def claim(self, token_hash: str, now_ms: int) -> RefreshRecord | None:
        r = self.records.get(token_hash)
        if r is None or r.rotated or r.revoked or r.expires_at_ms <= now_ms:
            return None
        self.records[token_hash] = msgspec.structs.replace(r, rotated=True)
        return r

    async def revoke_family(self, family: str) -> int:
        n = 0
        for h, r in list(self.records.items()):
            if r.family == family and not r.revoked:
                self.records[h] = msgspec.structs.replace(r, revoked=True)
                n += 1
        return n


class MemoryApiKeyRepository:
    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}

    async def insert(self, key: ApiKey) -> None:
        self.keys[key.id] = key

    async def get(self, key_id: str) -> ApiKey | None:
        return self.keys.get(key_id)

    async def all(self) -> list[ApiKey]:
        return sorted(self.keys.values(), key=lambda k: (k.created_at_ms, k.id))

    async def revoke(self, key_id: str) -> bool:
        key = self.keys.get(key_id)
        if key is None:
            return False
        self.keys[key_id] = msgspec.structs.replace(key, revoked=True)
        return True

    async def touch(self, key_id: str, now_ms: int) -> None:
        key = self.keys.get(key_id)
        if key is not None and key.last_used_at_ms < now_ms:
            self.keys[key_id] = msgspec.structs.replace(key, last_used_at_ms=now_ms)


class MemoryAuditRepository:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def append(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    async def page(
        self, limit: int, before: str | None, where: AuditFilter | None = None
    ) -> list[AuditEntry]:
        rows = sorted(
            (
                e
                for e in self.entries
                if (before is None or e.id < before) and (where is None or where.matches(e))
            ),
            key=lambda e: e.id,
            reverse=True,
        )
        return rows[:limit]


class MemoryWorldRepository:
    def __init__(self) -> None:
        self.worlds: dict[str, World] = {}

    async def create(self, world: World) -> World:
        if world.id in self.worlds:
            raise Conflict(f"world {world.id} exists")
        self.worlds[world.id] = world
        return world

    async def get(self, world_id: str) -> World | None:
        return self.worlds.get(world_id)

    async def all(self) -> list[World]:
        return [self.worlds[k] for k in sorted(self.worlds)]

    async def update(
        self,
        world_id: str,
        name: str | None,
        settings: WorldSettings | None,
        expected_version: int | None,
        now_ms: int,
    ) -> World:
        w = self.worlds.get(world_id)
        if w is None:
            raise NotFound(f"world {world_id} not found")
        if expected_version is not None and w.version != expected_version:
            raise Conflict(f"world {world_id} is not at version {expected_version}")
        w = msgspec.structs.replace(
            w,
            name=w.name if name is None else name,
            settings=w.settings if settings is None else settings,
            version=w.version + 1,
            updated_at_ms=now_ms,
        )
        self.worlds[world_id] = w
        return w

    async def delete(self, world_id: str) -> bool:
        return self.worlds.pop(world_id, None) is not None


class MemoryCommandRepository:
    def __init__(self) -> None:
        self.records: dict[str, CommandRecord] = {}

    async def insert(self, record: CommandRecord) -> None:
        self.records[record.id] = record

    async def get(self, command_id: str) -> CommandRecord | None:
        return self.records.get(command_id)

    async def expire(self, now_ms: int, legacy_deadline_ms: int = 30_000) -> int:
        n = 0
        for cid, r in list(self.records.items()):
            deadline = r.deadline_ms or r.at_ms + legacy_deadline_ms
            if r.ack == "pending" and deadline <= now_ms:
                self.records[cid] = msgspec.structs.replace(
                    r, ack="expired", ack_detail="no relay acknowledged it before its deadline"
                )
                n += 1
        return n


class _Room(msgspec.Struct):
    world: str
    relay: str
    created_ms: int
    grace_ms: int
    seats: dict[str, int]
    lifetime: int
    empty_since: int | None = None
    #: user -> relay session that confirmed the seat (``A room:<id>:sessions``).
    sessions: dict[str, str] = msgspec.field(default_factory=dict)


class MemoryAllocator:
    """join.lua in Python. Relays are "live" while present in ``heartbeats``."""

    def __init__(self) -> None:
        self.heartbeats: dict[str, RelayInfo] = {}
        self.relay_seats: dict[str, int] = {}
        self.draining: set[str] = set()
        #: ``A drain_incarnations``: relay -> boot id the drain is for.
        self.drain_boots: dict[str, str] = {}
        self.room_map: dict[str, _Room] = {}
        self.user_seats: dict[str, str] = {}
        #: ``A room_lifetimes``: the last lifetime given to each room id, never released.
        self.lifetimes: dict[str, int] = {}
        #: ``A sessions_ended`` tombstones (kept for good: the TTL is the
        #: suite's to leave open).
        self.ended: set[tuple[str, str]] = set()
        #: ``P room:{<id>}:snapshot`` as the relay writes it (FlatBuffers bytes).
        self.snapshots: dict[str, bytes] = {}

    async def relays(self) -> list[RelayInfo]:
        return [
            msgspec.structs.replace(
                h,
                seats=self.relay_seats.get(i, 0),
                drain_requested=i in self.draining,
                drain_boot_id=self.drain_boots.get(i, "") if i in self.draining else "",
            )
            for i, h in sorted(self.heartbeats.items())
        ]

    def _count(self, room_id: str) -> int:
        return len(self.room_map[room_id].seats)

    def _purge(self, room_id: str, now: int) -> int:
        room = self.room_map[room_id]
        expired = [u for u, exp in room.seats.items() if exp <= now]
        for u in expired:
            del room.seats[u]
            room.sessions.pop(u, None)
            if self.user_seats.get(u) == room_id:
                del self.user_seats[u]
        self.relay_seats[room.relay] = self.relay_seats.get(room.relay, 0) - len(expired)
        if not room.seats:
            room.empty_since = room.empty_since if room.empty_since is not None else now
        else:
            room.empty_since = None
        return len(room.seats)

    def _drop_seat(self, room_id: str, user: str) -> bool:
        room = self.room_map.get(room_id)
        removed = room is not None and room.seats.pop(user, None) is not None
        if room is not None:
            room.sessions.pop(user, None)
        if removed and room is not None:
            self.relay_seats[room.relay] = self.relay_seats.get(room.relay, 0) - 1
        if self.user_seats.get(user) == room_id:
            del self.user_seats[user]
        return removed

    def _pick(self, candidates: list[RelayInfo]) -> str | None:
        return placement.pick_relay(
            candidates, live=self.heartbeats, draining=self.draining, seats=self.relay_seats
        )

    def _relay_for(
        self, room_id: str, candidates: list[RelayInfo], user: str, now: int
    ) -> tuple[str | None, bool]:
        relay = self.room_map[room_id].relay
        if relay in self.heartbeats:
            if relay not in self.draining:
                return relay, False
            others = self._purge(room_id, now) - (user in self.room_map[room_id].seats)
            if others > 0:
                return relay, False
        return self._pick(candidates), True

    async def join(self, req: JoinRequest) -> JoinOutcome:
        now, cap, user, world = req.now_ms, req.room_capacity, req.user_id, req.world_id
        target: str | None = None
        relay: str | None = None
        move = created = reused = False
        cur = self.user_seats.get(user)
        if cur is not None:
            room = self.room_map.get(cur)
            if (
                room is not None
                and room.seats.get(user, 0) > now
                and room.world == world
                and req.wanted_room in ("", cur)
            ):
                relay, move = self._relay_for(cur, req.candidates, user, now)
                if relay is not None:
                    target, reused = cur, True
            if target is None:
                self._drop_seat(cur, user)
        if target is None and req.wanted_room:
            wanted = req.wanted_room
            existing = self.room_map.get(wanted)
            if existing is not None and existing.world != world:
                return JoinOutcome(status="world_mismatch")
            if existing is not None:
                if self._purge(wanted, now) >= cap:
                    return JoinOutcome(status="room_full")
                relay, move = self._relay_for(wanted, req.candidates, user, now)
            else:
                relay, created = self._pick(req.candidates), True
            if relay is None:
                return JoinOutcome(status="no_relay")
            target = wanted
        if target is None:
            in_world = [
                r
                for r, room in self.room_map.items()
                if room.world == world and len(room.seats) < cap
            ]
            in_world.sort(key=lambda r: (len(self.room_map[r].seats), r), reverse=True)
            for r in in_world[: req.scan_limit]:
                if self._purge(r, now) < cap:
                    relay, move = self._relay_for(r, req.candidates, user, now)
                    if relay is not None:
                        target = r
                        break
            if target is None:
                relay = self._pick(req.candidates)
                if relay is None:
                    return JoinOutcome(status="no_relay")
                target, created = req.new_room_id, True
        assert relay is not None
        if created:
            self.lifetimes[target] = self.lifetimes.get(target, 0) + 1
            self.room_map[target] = _Room(
                world=world,
                relay=relay,
                created_ms=now,
                grace_ms=req.empty_grace_ms,
                seats={},
                lifetime=self.lifetimes[target],
            )
        elif move:
            room = self.room_map[target]
            n = len(room.seats)
            self.relay_seats[room.relay] = self.relay_seats.get(room.relay, 0) - n
            self.relay_seats[relay] = self.relay_seats.get(relay, 0) + n
            room.relay = relay
            for u, exp in room.seats.items():
                if exp == CONFIRMED:
                    room.seats[u] = now + req.reservation_ms
        room = self.room_map[target]
        if reused:
            room.seats[user] = max(room.seats[user], now + req.reservation_ms)
        else:
            room.seats[user] = now + req.reservation_ms
            self.relay_seats[relay] = self.relay_seats.get(relay, 0) + 1
            self.user_seats[user] = target
        room.empty_since = None
        return JoinOutcome(
            status="ok",
            room_id=target,
            relay=self.heartbeats[relay],
            seats=len(room.seats),
            created=created,
            reused=reused,
            room_lifetime=room.lifetime,
        )

    async def confirm_seat(self, room_id: str, user_id: str) -> bool:
        room = self.room_map.get(room_id)
        if room is None:
            return False
        cur = self.user_seats.get(user_id)
        if cur is not None and cur != room_id:
            self._drop_seat(cur, user_id)
        if user_id not in room.seats:
            self.relay_seats[room.relay] = self.relay_seats.get(room.relay, 0) + 1
        room.seats[user_id] = CONFIRMED
        self.user_seats[user_id] = room_id
        room.empty_since = None
        return True

    async def release_seat(self, room_id: str, user_id: str, now_ms: int) -> bool:
        removed = self._drop_seat(room_id, user_id)
        room = self.room_map.get(room_id)
        if room is not None and not room.seats and room.empty_since is None:
            room.empty_since = now_ms
        return removed

    async def release_room(self, room_id: str) -> str:
        room = self.room_map.pop(room_id, None)
        if room is None:
            return ""
        for u in room.seats:
            if self.user_seats.get(u) == room_id:
                del self.user_seats[u]
        self.relay_seats[room.relay] = self.relay_seats.get(room.relay, 0) - len(room.seats)
        self.forget_ended_snapshot(room_id)
        return room.relay

    def forget_ended_snapshot(self, room_id: str) -> None:
        """The snapshot goes once the lifetime it holds has ended (decisions/012)."""
        raw = self.snapshots.get(room_id)
        if raw is None:
            return
        held = codec.decode_room_state(raw).room_lifetime
        room = self.room_map.get(room_id)
        last = self.lifetimes.get(room_id, 0)
        if lifetime_ended(held, None if room is None else room.lifetime, last):
            del self.snapshots[room_id]

    def _forget_past_drains(self) -> None:
        for relay_id in sorted(self.draining):
            hb = self.heartbeats.get(relay_id)
            recorded = self.drain_boots.get(relay_id)
            if (
                hb is None
                or (recorded is None and hb.state in ("starting", "ready"))
                or (recorded is not None and hb.boot_id != recorded)
            ):
                self.draining.discard(relay_id)
                self.drain_boots.pop(relay_id, None)

    async def sweep(self, now_ms: int) -> int:
        self._forget_past_drains()
        released = 0
        for room_id in list(self.room_map):
            if self._purge(room_id, now_ms) == 0:
                room = self.room_map[room_id]
                since = room.empty_since if room.empty_since is not None else now_ms
                if now_ms - since >= room.grace_ms:
                    await self.release_room(room_id)
                    released += 1
        return released

    def _info(self, room_id: str) -> RoomInfo:
        r = self.room_map[room_id]
        return RoomInfo(
            room_id=room_id,
            world_id=r.world,
            relay_id=r.relay,
            seats=len(r.seats),
            created_at_ms=r.created_ms,
            lifetime=r.lifetime,
        )

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
        infos = [self._info(r) for r in sorted(self.room_map) if after is None or r > after]
        return [
            i
            for i in infos
            if (world_id is None or i.world_id == world_id)
            and (relay_id is None or i.relay_id == relay_id)
            and i.seats >= min_seats
            and (max_seats is None or i.seats <= max_seats)
        ][:limit]

    async def seats(self, room_id: str) -> list[Seat]:
        room = self.room_map.get(room_id)
        if room is None:
            return []
        return [
            Seat(
                user_id=u,
                confirmed=score >= CONFIRMED,
                expires_at_ms=0 if score >= CONFIRMED else score,
                session_id=room.sessions.get(u, ""),
            )
            for u, score in sorted(room.seats.items())
        ]

    async def room_state(self, room_id: str) -> RoomStateSnapshot | None:
        raw = self.snapshots.get(room_id)
        return None if raw is None else codec.decode_room_state(raw)

    async def room(self, room_id: str) -> RoomInfo | None:
        return self._info(room_id) if room_id in self.room_map else None

    async def user_room(self, user_id: str) -> str | None:
        return self.user_seats.get(user_id)

    async def last_lifetime(self, room_id: str) -> int:
        return self.lifetimes.get(room_id, 0)

    async def mark_draining(self, relay_id: str, boot_id: str = "") -> None:
        self.draining.add(relay_id)
        self.drain_boots[relay_id] = boot_id

    async def unmark_draining(self, relay_id: str) -> bool:
        self.drain_boots.pop(relay_id, None)
        if relay_id not in self.draining:
            return False
        self.draining.discard(relay_id)
        return True


class MemoryEventSeats:
    """seat_confirm / seat_release / room_release with their guards (reporting
    relay, relay session, room lifetime) on a ``MemoryAllocator``: the
    ``events.contracts.EventSeats`` of the memory model, held to the Lua by
    ``test_lifetimes.py`` and ``test_placement_invariant.py``."""

    def __init__(self, alloc: MemoryAllocator, ended_ttl_ms: int = 0) -> None:
        self._a = alloc
        self._ended_ttl_ms = ended_ttl_ms

    async def confirm(
        self, room_id: str, user_id: str, relay_id: str, session_id: str = "", lifetime: int = 0
    ) -> int:
        a = self._a
        if session_id and (relay_id, session_id) in a.ended:
            return -2
        room = a.room_map.get(room_id)
        if room is None:
            return 0
        if relay_id and relay_id != room.relay:
            return -1
        if lifetime and lifetime != room.lifetime:
            return -3
        cur = a.user_seats.get(user_id)
        if cur is not None and cur != room_id:
            a._drop_seat(cur, user_id)
        if user_id not in room.seats:
            a.relay_seats[room.relay] = a.relay_seats.get(room.relay, 0) + 1
        room.seats[user_id] = CONFIRMED
        a.user_seats[user_id] = room_id
        if session_id:
            room.sessions[user_id] = session_id
        room.empty_since = None
        return 1

    async def release(
        self,
        room_id: str,
        user_id: str,
        relay_id: str,
        now_ms: int,
        session_id: str = "",
        lifetime: int = 0,
    ) -> bool:
        a = self._a
        if session_id and self._ended_ttl_ms > 0:
            if (relay_id, session_id) in a.ended:
                return False
            a.ended.add((relay_id, session_id))
        room = a.room_map.get(room_id)
        if room is not None:
            if relay_id and room.relay != relay_id:
                return False
            if lifetime and room.lifetime != lifetime:
                return False
            if session_id:
                holder = room.sessions.get(user_id)
                if holder is not None and holder != session_id:
                    return False
        removed = a._drop_seat(room_id, user_id)
        if room is not None and not room.seats and room.empty_since is None:
            room.empty_since = now_ms
        return removed

    async def release_room(self, room_id: str, relay_id: str, lifetime: int = 0) -> str:
        room = self._a.room_map.get(room_id)
        if (
            room is None
            or (relay_id and room.relay != relay_id)
            or (lifetime and room.lifetime != lifetime)
        ):
            self._a.forget_ended_snapshot(room_id)
            return ""
        return await self._a.release_room(room_id)


class MemoryConfigCache:
    def __init__(self) -> None:
        self.worlds: dict[str, WorldConfigView] = {}
        self.bans: dict[str, Ban] = {}
        self.mutes: dict[str, Mute] = {}

    async def put_world(self, world_id: str, version: int, settings: WorldSettings) -> None:
        self.worlds[world_id] = WorldConfigView(
            world_id=world_id, version=version, settings=settings
        )

    async def drop_world(self, world_id: str) -> None:
        self.worlds.pop(world_id, None)

    async def put_ban(self, ban: Ban) -> None:
        self.bans[ban.user_id] = ban

    async def drop_ban(self, user_id: str) -> None:
        self.bans.pop(user_id, None)

    async def put_mute(self, mute: Mute) -> None:
        self.mutes[mute.user_id] = mute

    async def drop_mute(self, user_id: str) -> bool:
        return self.mutes.pop(user_id, None) is not None

    async def lookup(
        self, world_id: str, user_id: str
    ) -> tuple[WorldConfigView | None, Ban | None]:
        return self.worlds.get(world_id), self.bans.get(user_id)


class MemoryRateLimiter:
    """Fixed windows on an injected clock: ``now_ms``, moved by the test."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, str], tuple[int, int]] = {}
        self.now_ms = 0

    async def hit(self, buckets: list[tuple[str, str, int]], window_ms: int) -> int | None:
        wait: int | None = None
        for scope, subject, limit in buckets:
            start, count = self.windows.get((scope, subject), (self.now_ms, 0))
            if self.now_ms - start >= window_ms:
                start, count = self.now_ms, 0
            count += 1
            self.windows[(scope, subject)] = (start, count)
            if count > limit:
                left = start + window_ms - self.now_ms
                wait = left if wait is None else max(wait, left)
        return wait


class MemoryCommandBus:
    """Channels by relay id ('' the broadcast channel). ``published`` keeps every
    payload in order; ``subscribe`` returns a list that receives the payloads
    published on one channel from then on."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.inboxes: dict[str, list[list[bytes]]] = {}

    def subscribe(self, relay_id: str) -> list[bytes]:
        inbox: list[bytes] = []
        self.inboxes.setdefault(relay_id, []).append(inbox)
        return inbox

    async def publish(self, relay_id: str, payload: bytes) -> int:
        self.published.append((relay_id, payload))
        inboxes = self.inboxes.get(relay_id, [])
        for inbox in inboxes:
            inbox.append(payload)
        return len(inboxes)

    async def subscribers(self, relay_id: str) -> int:
        return len(self.inboxes.get(relay_id, []))


class MemoryJoinGate:
    def __init__(self, limiter: MemoryRateLimiter, cache: MemoryConfigCache) -> None:
        self._limiter = limiter
        self._cache = cache

    async def admit(
        self, buckets: list[tuple[str, str, int]], window_ms: int, world_id: str, user_id: str
    ) -> Admission:
        wait = await self._limiter.hit(buckets, window_ms)
        world, ban = await self._cache.lookup(world_id, user_id)
        return Admission(wait_ms=wait, world=world, ban=ban, mute=self._cache.mutes.get(user_id))
