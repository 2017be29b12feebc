"""Repository contracts. Every method is a coroutine; errors are ``plaza_control.errors``."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

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


class UserRepository(Protocol):
    async def get(self, user_id: str) -> User | None: ...
    async def by_device(self, device_hash: str) -> User | None: ...
    async def by_external(self, external_key: str) -> User | None: ...
    async def create(self, user: User) -> User:
        """Insert; on a duplicate device or external key return the existing user."""
        ...

    async def page(
        self,
        limit: int,
        after: str | None,
        *,
        name_prefix: str | None = None,
        device_hash: str | None = None,
        external_key: str | None = None,
    ) -> list[User]:
        """Users ordered by id, ids greater than ``after``; only those whose
        display name starts with ``name_prefix`` (case-sensitive), whose
        ``device_hash`` or ``external_key`` is the one given."""
        ...


class UserCache(Protocol):
    """Users by device hash and by external key, in front of ``UserRepository``
    (records never change, so a cached one is never stale)."""

    async def by_device(self, device_hash: str) -> User | None: ...
    async def by_external(self, external_key: str) -> User | None: ...
    async def put(self, user: User) -> None:
        """Remember ``user`` under its device hash and/or external key."""
        ...


class BanReader(Protocol):
    """The one ban read sign-in makes."""

    async def get(self, user_id: str) -> Ban | None: ...


class BanRepository(Protocol):
    async def put(self, ban: Ban) -> None: ...
    async def delete(self, user_id: str) -> bool: ...
    async def get(self, user_id: str) -> Ban | None: ...
    async def all(self) -> list[Ban]: ...


class RefreshTokenRepository(Protocol):
    async def insert(self, record: RefreshRecord) -> None: ...
    async def get(self, token_hash: str) -> RefreshRecord | None: ...
    async def claim(self, token_hash: str, now_ms: int) -> RefreshRecord | None:
        """Atomically mark a live (not rotated, not revoked, not expired) token rotated
        and return it; ``None`` when no such token exists. At most one caller wins."""
        ...

    async def revoke_family(self, family: str) -> int: ...


class ApiKeyRepository(Protocol):
    async def insert(self, key: ApiKey) -> None: ...
    async def get(self, key_id: str) -> ApiKey | None: ...
    async def all(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first (by ``created_at_ms``, then id)."""
        ...

    async def revoke(self, key_id: str) -> bool:
        """Mark the key revoked (idempotent); False when no such key exists."""
        ...

    async def touch(self, key_id: str, now_ms: int) -> None:
        """Raise ``last_used_at_ms`` to ``now_ms`` (never lowers it)."""
        ...


class AuditRepository(Protocol):
    async def append(self, entry: AuditEntry) -> None: ...
    async def page(
        self, limit: int, before: str | None, where: AuditFilter | None = None
    ) -> list[AuditEntry]:
        """Newest first; ids smaller than ``before``; only entries ``where``
        matches (``AuditFilter.matches``)."""
        ...


class WorldRepository(Protocol):
    async def create(self, world: World) -> World:
        """Raise ``Conflict`` when the id exists."""
        ...

    async def get(self, world_id: str) -> World | None: ...
    async def all(self) -> list[World]: ...
    async def update(
        self,
        world_id: str,
        name: str | None,
        settings: WorldSettings | None,
        expected_version: int | None,
        now_ms: int,
    ) -> World:
        """Apply a change and add one to the version. ``NotFound`` for an unknown id,
        ``Conflict`` when ``expected_version`` is given and differs."""
        ...

    async def delete(self, world_id: str) -> bool: ...


class CommandRepository(Protocol):
    async def insert(self, record: CommandRecord) -> None: ...
    async def get(self, command_id: str) -> CommandRecord | None: ...
    async def expire(self, now_ms: int, legacy_deadline_ms: int = 30_000) -> int:
        """Every ``pending`` command whose ``deadline_ms`` passed becomes ``expired``
        (a record without a deadline: ``at_ms + legacy_deadline_ms``). Idempotent;
        returns how many changed."""
        ...


class JoinOutcome(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok", "room_full", "no_relay", "world_mismatch"]
    room_id: str = ""
    relay: RelayInfo | None = None
    seats: int = 0
    created: bool = False
    reused: bool = False
    #: The room's lifetime (decisions/009): drawn when its allocation was created,
    #: kept while it lives (also across relays); the ticket's ``rlt``.
    room_lifetime: int = 0


class JoinRequest(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    world_id: str
    room_capacity: int
    empty_grace_ms: int
    wanted_room: str
    new_room_id: str
    now_ms: int
    reservation_ms: int
    scan_limit: int
    #: Placement candidates, most preferred first is not required: the
    #: allocator picks the least loaded among them.
    candidates: list[RelayInfo]


class Allocator(Protocol):
    """Relays, rooms and seats (Redis: docs/redis.md, allocation slot)."""

    async def relays(self) -> list[RelayInfo]:
        """Live relays (heartbeat key present), with seat counts and drain flags."""
        ...

    async def join(self, req: JoinRequest) -> JoinOutcome:
        """The atomic step of join.lua: see its header for the exact contract."""
        ...

    async def confirm_seat(self, room_id: str, user_id: str) -> bool: ...
    async def release_seat(self, room_id: str, user_id: str, now_ms: int) -> bool: ...
    async def release_room(self, room_id: str) -> str:
        """Forget a room (its lifetime ends) and delete its snapshot if the
        lifetime it holds has ended; return the relay it was on ('' if
        unknown)."""
        ...

    async def sweep(self, now_ms: int) -> int:
        """Forget dead relays and drains of past incarnations; purge expired
        reservations; release rooms empty past their grace (and delete their
        snapshots, as ``release_room``). Returns rooms released."""
        ...

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
        """Open rooms ordered by id, ids greater than ``after``, at most ``limit``,
        of the world and the relay when given, with ``min_seats`` ≤ seats ≤
        ``max_seats`` (seats: reserved and confirmed)."""
        ...

    async def seats(self, room_id: str) -> list[Seat]:
        """The room's seats ordered by user id (none for a room not open)."""
        ...

    async def room_state(self, room_id: str) -> RoomStateSnapshot | None:
        """The relay's last saved state of the room (``P room:{<id>}:snapshot``),
        whichever lifetime it belongs to; None when there is none."""
        ...

    async def room(self, room_id: str) -> RoomInfo | None: ...
    async def user_room(self, user_id: str) -> str | None: ...
    async def last_lifetime(self, room_id: str) -> int:
        """The last lifetime given to ``room_id`` (its current one while it is
        open); 0 if it never had one."""
        ...

    async def mark_draining(self, relay_id: str, boot_id: str = "") -> None:
        """No new room goes to the relay (``A draining``), for the incarnation
        ``boot_id`` (``A drain_incarnations``; '' when its heartbeat has none).
        ``sweep`` drops the mark once the relay's live heartbeat shows another
        boot id, or its heartbeat expired."""
        ...

    async def unmark_draining(self, relay_id: str) -> bool:
        """Forget the relay's drain mark; False if it had none."""
        ...


class ConfigCache(Protocol):
    """World configs and bans as the join path reads them (never from MongoDB).
    A ban that has ended may still be returned until its entry is dropped or
    expires: readers check ``Ban.active``."""

    async def put_world(self, world_id: str, version: int, settings: WorldSettings) -> None: ...
    async def drop_world(self, world_id: str) -> None: ...
    async def put_ban(self, ban: Ban) -> None: ...
    async def drop_ban(self, user_id: str) -> None: ...
    async def put_mute(self, mute: Mute) -> None:
        """Kept until ``mute.until_ms`` (for good when 0); replaces the user's mute."""
        ...

    async def drop_mute(self, user_id: str) -> bool: ...
    async def lookup(
        self, world_id: str, user_id: str
    ) -> tuple[WorldConfigView | None, Ban | None]:
        """The world's config and the user's ban, in one round trip."""
        ...


class Admission(msgspec.Struct, frozen=True):
    #: ``None``: within every rate limit; else ms until the exceeded window resets.
    wait_ms: int | None
    world: WorldConfigView | None
    ban: Ban | None
    #: The user's mute (may have ended: readers check ``Mute.active``).
    mute: Mute | None = None


class JoinGate(Protocol):
    """The join path's first step in one round trip: count the request in its
    rate-limit buckets and read the world config, the user's ban and mute."""

    async def admit(
        self, buckets: list[tuple[str, str, int]], window_ms: int, world_id: str, user_id: str
    ) -> Admission: ...


class RateLimiter(Protocol):
    async def hit(self, buckets: list[tuple[str, str, int]], window_ms: int) -> int | None:
        """Count one request in every (scope, subject, limit) bucket: fixed windows
        of ``window_ms`` starting at a bucket's first hit. ``None`` if all allow it,
        else the milliseconds (1 to ``window_ms``) until every exceeded window
        has reset."""
        ...


class CommandBus(Protocol):
    async def publish(self, relay_id: str, payload: bytes) -> int:
        """Publish to relay ``relay_id``'s channel, or the broadcast channel for ''.
        Returns the number of subscribers that received it."""
        ...

    async def subscribers(self, relay_id: str) -> int:
        """Subscribers of that channel now (pattern subscriptions not counted)."""
        ...
