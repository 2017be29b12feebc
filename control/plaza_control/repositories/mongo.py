"""MongoDB implementations (PyMongo's async API). Stay within what FerretDB 1.x
also supports: CRUD, unique indexes, find_one_and_update, sort + limit."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from plaza_control.errors import Conflict, NotFound
from plaza_control.models import (
    ApiKey,
    AuditEntry,
    AuditFilter,
    Ban,
    CommandRecord,
    RefreshRecord,
    User,
    World,
    WorldSettings,
)

Doc = dict[str, Any]
Db = AsyncDatabase[Doc]
T = TypeVar("T", bound=msgspec.Struct)


def _to_doc(obj: msgspec.Struct, id_field: str = "id") -> Doc:
    doc: Doc = msgspec.to_builtins(obj)
    doc["_id"] = doc.pop(id_field)
    return doc


def _from_doc(doc: Doc, cls: type[T], id_field: str = "id") -> T:
    d = dict(doc)
    d[id_field] = d.pop("_id")
    return msgspec.convert(d, cls)


def _regex_literal(text: str) -> str:
    """``text`` matched literally by PCRE (MongoDB) and RE2 (FerretDB): only ASCII
    punctuation is escaped, which both accept (RE2 refuses ``\\ `` and letters)."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


async def ensure_indexes(db: Db) -> None:
    """Idempotent; run in the lifespan before serving."""
    await db.users.create_index([("device_hash", ASCENDING)], unique=True, sparse=True)
    await db.users.create_index([("external_key", ASCENDING)], unique=True, sparse=True)
    await db.refresh_tokens.create_index([("family", ASCENDING)])


class MongoUserRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.users

    async def get(self, user_id: str) -> User | None:
        doc = await self._c.find_one({"_id": user_id})
        return None if doc is None else _from_doc(doc, User)

    async def by_device(self, device_hash: str) -> User | None:
        doc = await self._c.find_one({"device_hash": device_hash})
        return None if doc is None else _from_doc(doc, User)

    async def by_external(self, external_key: str) -> User | None:
        doc = await self._c.find_one({"external_key": external_key})
        return None if doc is None else _from_doc(doc, User)

    async def create(self, user: User) -> User:
        doc = {k: v for k, v in _to_doc(user).items() if v is not None}
        try:
            await self._c.insert_one(doc)
        except DuplicateKeyError:
            existing = None
            if user.device_hash:
                existing = await self.by_device(user.device_hash)
            elif user.external_key:
                existing = await self.by_external(user.external_key)
            if existing is None:
                raise Conflict("user id collision") from None
            return existing
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
        query: Doc = {} if after is None else {"_id": {"$gt": after}}
        if name_prefix is not None:
            query["display_name"] = {"$regex": "^" + _regex_literal(name_prefix)}
        if device_hash is not None:
            query["device_hash"] = device_hash
        if external_key is not None:
            query["external_key"] = external_key
        cursor = self._c.find(query).sort("_id", ASCENDING).limit(limit)
        return [_from_doc(d, User) async for d in cursor]


class MongoBanRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.bans

    async def put(self, ban: Ban) -> None:
        await self._c.replace_one({"_id": ban.user_id}, _to_doc(ban, "user_id"), upsert=True)

    async def delete(self, user_id: str) -> bool:
        res = await self._c.delete_one({"_id": user_id})
        return res.deleted_count > 0

    async def get(self, user_id: str) -> Ban | None:
        doc = await self._c.find_one({"_id": user_id})
        return None if doc is None else _from_doc(doc, Ban, "user_id")

    async def all(self) -> list[Ban]:
        return [_from_doc(d, Ban, "user_id") async for d in self._c.find({})]


class MongoRefreshTokenRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.refresh_tokens

    async def insert(self, record: RefreshRecord) -> None:
        await self._c.insert_one(_to_doc(record, "hash"))

    async def get(self, token_hash: str) -> RefreshRecord | None:
        doc = await self._c.find_one({"_id": token_hash})
        return None if doc is None else _from_doc(doc, RefreshRecord, "hash")

    async def claim(self, token_hash: str, now_ms: int) -> RefreshRecord | None:
        doc = await self._c.find_one_and_update(
            {
                "_id": token_hash,
                "rotated": False,
                "revoked": False,
                "expires_at_ms": {"$gt": now_ms},
            },
            {"$set": {"rotated": True}},
            return_document=ReturnDocument.BEFORE,
        )
        return None if doc is None else _from_doc(doc, RefreshRecord, "hash")

    async def revoke_family(self, family: str) -> int:
        res = await self._c.update_many({"family": family}, {"$set": {"revoked": True}})
        return res.modified_count


class MongoApiKeyRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.api_keys

    async def insert(self, key: ApiKey) -> None:
        await self._c.insert_one(_to_doc(key))

    async def get(self, key_id: str) -> ApiKey | None:
        doc = await self._c.find_one({"_id": key_id})
        return None if doc is None else _from_doc(doc, ApiKey)

    async def all(self) -> list[ApiKey]:
        keys = [_from_doc(d, ApiKey) async for d in self._c.find({})]
        return sorted(keys, key=lambda k: (k.created_at_ms, k.id))

    async def revoke(self, key_id: str) -> bool:
        res = await self._c.update_one({"_id": key_id}, {"$set": {"revoked": True}})
        return res.matched_count > 0

    async def touch(self, key_id: str, now_ms: int) -> None:
        # Keys created before last_used existed have no field: $lt misses them.
        older = [{"last_used_at_ms": {"$lt": now_ms}}, {"last_used_at_ms": {"$exists": False}}]
        await self._c.update_one(
            {"_id": key_id, "$or": older}, {"$set": {"last_used_at_ms": now_ms}}
        )


class MongoAuditRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.audit

    async def append(self, entry: AuditEntry) -> None:
        await self._c.insert_one(_to_doc(entry))

    async def page(
        self, limit: int, before: str | None, where: AuditFilter | None = None
    ) -> list[AuditEntry]:
        query: Doc = {} if before is None else {"_id": {"$lt": before}}
        if where is not None:
            if where.actor is not None:
                query["$or"] = [{"actor": where.actor}, {"actor_name": where.actor}]
            if where.action is not None:
                query["action"] = where.action
            if where.target is not None:
                query["target"] = {"$regex": "^" + _regex_literal(where.target)}
            at: Doc = {}
            if where.since_ms is not None:
                at["$gte"] = where.since_ms
            if where.until_ms is not None:
                at["$lt"] = where.until_ms
            if at:
                query["at_ms"] = at
        cursor = self._c.find(query).sort("_id", DESCENDING).limit(limit)
        return [_from_doc(d, AuditEntry) async for d in cursor]


class MongoWorldRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.worlds

    async def create(self, world: World) -> World:
        try:
            await self._c.insert_one(_to_doc(world))
        except DuplicateKeyError:
            raise Conflict(f"world {world.id} exists") from None
        return world

    async def get(self, world_id: str) -> World | None:
        doc = await self._c.find_one({"_id": world_id})
        return None if doc is None else _from_doc(doc, World)

    async def all(self) -> list[World]:
        return [_from_doc(d, World) async for d in self._c.find({}).sort("_id", ASCENDING)]

    async def update(
        self,
        world_id: str,
        name: str | None,
        settings: WorldSettings | None,
        expected_version: int | None,
        now_ms: int,
    ) -> World:
        query: Doc = {"_id": world_id}
        if expected_version is not None:
            query["version"] = expected_version
        change: Doc = {"updated_at_ms": now_ms}
        if name is not None:
            change["name"] = name
        if settings is not None:
            change["settings"] = msgspec.to_builtins(settings)
        doc = await self._c.find_one_and_update(
            query, {"$set": change, "$inc": {"version": 1}}, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            if await self._c.find_one({"_id": world_id}) is None:
                raise NotFound(f"world {world_id} not found")
            raise Conflict(f"world {world_id} is not at version {expected_version}")
        return _from_doc(doc, World)

    async def delete(self, world_id: str) -> bool:
        res = await self._c.delete_one({"_id": world_id})
        return res.deleted_count > 0


EXPIRED_DETAIL = "no relay acknowledged it before its deadline"


class MongoCommandRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.commands

    async def insert(self, record: CommandRecord) -> None:
        await self._c.insert_one(_to_doc(record))

    async def get(self, command_id: str) -> CommandRecord | None:
        doc = await self._c.find_one({"_id": command_id})
        return None if doc is None else _from_doc(doc, CommandRecord)

    async def expire(self, now_ms: int, legacy_deadline_ms: int = 30_000) -> int:
        res = await self._c.update_many(
            {
                "ack": "pending",
                "$or": [
                    {"deadline_ms": {"$gt": 0, "$lte": now_ms}},
                    {
                        "deadline_ms": {"$in": [0, None]},
                        "at_ms": {"$lte": now_ms - legacy_deadline_ms},
                    },
                ],
            },
            {"$set": {"ack": "expired", "ack_detail": EXPIRED_DETAIL}},
        )
        return int(res.modified_count)
