"""Users by device and by external identity, from Redis before MongoDB.

A user record never changes once created (nothing in the control plane updates
or deletes one: the display name is the one given at creation), so a cached copy
is never stale. Entries live ``ttl_seconds`` after their last read (``GETEX``
refreshes the TTL on every hit), so Redis holds the players seen recently, not
every user ever made. Bans are not in these entries: they stay in ``P ban:{..}``
(docs/redis.md), read per sign-in. A feature that renames or deletes users must
rewrite or delete these entries in the same step.
"""

from __future__ import annotations

import hashlib

import msgspec
import redis.asyncio as aioredis

from plaza_control.keyspace import Keyspace
from plaza_control.models import User
from plaza_control.repositories.base import UserCache, UserRepository

#: Seven days after the last sign-in that read it.
USER_CACHE_TTL_SECONDS = 7 * 24 * 3600

_decoder = msgspec.json.Decoder(User)


def identity_hash(external_key: str) -> str:
    """The cache key's id for an external identity ``<issuer>|<subject>`` (which
    may hold ``:``, braces or spaces, refused in key ids): sha256, hex."""
    return hashlib.sha256(external_key.encode()).hexdigest()


class RedisUserCache:
    """``P user:device:{<device_hash>}`` and ``P user:identity:{<identity_hash>}``:
    the user's record as msgspec JSON."""

    def __init__(
        self, client: aioredis.Redis, keyspace: Keyspace, ttl_seconds: int = USER_CACHE_TTL_SECONDS
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("user cache TTL must be positive")
        self._r = client
        self._k = keyspace
        self._ttl = ttl_seconds

    async def _read(self, key: str) -> User | None:
        raw = await self._r.getex(key, ex=self._ttl)
        if raw is None:
            return None
        try:
            return _decoder.decode(raw)
        except msgspec.DecodeError:
            return None  # unreadable: a miss; the next fill overwrites it

    async def by_device(self, device_hash: str) -> User | None:
        user = await self._read(self._k.user_by_device(device_hash))
        return user if user is not None and user.device_hash == device_hash else None

    async def by_external(self, external_key: str) -> User | None:
        user = await self._read(self._k.user_by_identity(identity_hash(external_key)))
        return user if user is not None and user.external_key == external_key else None

    async def put(self, user: User) -> None:
        raw = msgspec.json.encode(user)
        pipe = self._r.pipeline(transaction=False)
        if user.device_hash:
            pipe.set(self._k.user_by_device(user.device_hash), raw, ex=self._ttl)
        if user.external_key:
            pipe.set(self._k.user_by_identity(identity_hash(user.external_key)), raw, ex=self._ttl)
        await pipe.execute()


class CachedUserRepository:
    """``UserRepository``: ``store`` (MongoDB) behind ``cache``. Lookups by device
    and by external key read the cache first and fill it on a miss; ``create``
    returns the cached user of a known device or identity without touching the
    store, and fills the cache with what the store answered otherwise (the new
    user, or the existing one on a duplicate key). Other reads go to the store."""

    def __init__(self, store: UserRepository, cache: UserCache) -> None:
        self._store = store
        self._cache = cache

    async def get(self, user_id: str) -> User | None:
        return await self._store.get(user_id)

    async def by_device(self, device_hash: str) -> User | None:
        user = await self._cache.by_device(device_hash)
        if user is None:
            user = await self._store.by_device(device_hash)
            if user is not None:
                await self._cache.put(user)
        return user

    async def by_external(self, external_key: str) -> User | None:
        user = await self._cache.by_external(external_key)
        if user is None:
            user = await self._store.by_external(external_key)
            if user is not None:
                await self._cache.put(user)
        return user

    async def create(self, user: User) -> User:
        known: User | None = None
        if user.device_hash:
            known = await self._cache.by_device(user.device_hash)
        elif user.external_key:
            known = await self._cache.by_external(user.external_key)
        if known is not None:
            return known
        stored = await self._store.create(user)
        await self._cache.put(stored)
        return stored

    async def page(
        self,
        limit: int,
        after: str | None,
        *,
        name_prefix: str | None = None,
        device_hash: str | None = None,
        external_key: str | None = None,
    ) -> list[User]:
        return await self._store.page(
            limit,
            after,
            name_prefix=name_prefix,
            device_hash=device_hash,
            external_key=external_key,
        )
