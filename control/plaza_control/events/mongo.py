"""MongoDB stores of the event side (``events.contracts``): chat history,
session records, command acks, dead letters. Idempotent by design (event id or
entry id as ``_id``) and inside what FerretDB 1.x supports: CRUD, unique ids,
``$set``/``$min``/``$addToSet``, find_one_and_update, sort + limit."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import msgspec
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from plaza_control.events.models import (
    ChatRecord,
    CommandStatus,
    DeadLetter,
    RelayAck,
    SessionRecord,
)
from plaza_control.models import MemberJoined, MemberLeft, RoomEvent

Doc = dict[str, Any]
Db = AsyncDatabase[Doc]
_DUPLICATE_KEY = 11000
#: Updates per bulk write. FerretDB 1.24's SQLite backend keeps one pooled
#: connection open per update of a command until the command ends, and its pool
#: has 100 connections per database: an update command of ~100 existing
#: documents (or several smaller ones at once) deadlocks that database for
#: good. 16 keeps a few consumers plus the API far below that.
_BULK = 16


def _from(doc: Doc, cls: type[Any]) -> Any:
    d = dict(doc)
    d["id"] = d.pop("_id")
    return msgspec.convert(d, cls)


async def ensure_history_indexes(db: Db) -> None:
    """Idempotent; run by the consumer before it reads."""
    await db.chat.create_index(
        [("room_id", ASCENDING), ("room_lifetime", ASCENDING), ("sequence", ASCENDING)]
    )
    await db.sessions.create_index([("user_id", ASCENDING), ("joined_at_ms", DESCENDING)])
    await db.commands.create_index([("at_ms", DESCENDING)])


class MongoChatRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.chat

    async def insert_many(self, records: list[ChatRecord]) -> int:
        if not records:
            return 0
        docs: list[Doc] = []
        for r in records:
            d: Doc = msgspec.to_builtins(r)
            d["_id"] = d.pop("id")
            docs.append(d)
        try:
            res = await self._c.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            return int(exc.details.get("nInserted", 0))
        return len(res.inserted_ids)

    async def page(
        self,
        room_id: str,
        limit: int,
        order: Literal["newest", "oldest"],
        before: int | None,
        after: int | None,
        lifetime: int = 0,
    ) -> list[ChatRecord]:
        query: Doc = {"room_id": room_id}
        if lifetime:
            query["room_lifetime"] = lifetime
        else:
            # Lines stored before lifetimes existed have no such field.
            query["$or"] = [{"room_lifetime": 0}, {"room_lifetime": {"$exists": False}}]
        seq: Doc = {}
        if before is not None:
            seq["$lt"] = before
        if after is not None:
            seq["$gt"] = after
        if seq:
            query["sequence"] = seq
        direction = DESCENDING if order == "newest" else ASCENDING
        cursor = self._c.find(query).sort([("sequence", direction), ("_id", direction)])
        return [_from(d, ChatRecord) async for d in cursor.limit(limit)]

    async def last_lifetime(self, room_id: str) -> int:
        found = await self._c.find_one(
            {"room_id": room_id, "room_lifetime": {"$gt": 0}},
            projection={"room_lifetime": 1},
            sort=[("room_lifetime", DESCENDING)],
        )
        return int(found["room_lifetime"]) if found else 0


class MongoSessionRepository:
    """``sessions``: one document per relay session id. The join and leave halves
    write disjoint fields (``joined_at_ms`` with ``$min`` from both), so either
    may arrive first and a redelivery rewrites the same values; that is also why
    a batch is one unordered bulk write."""

    def __init__(self, db: Db) -> None:
        self._c = db.sessions

    def _common(self, event: RoomEvent, user_id: str) -> Doc:
        return {
            "user_id": user_id,
            "room_id": event.room_id,
            "world_id": event.world_id,
            "relay_id": event.relay_id,
        }

    def _update(self, event: RoomEvent, session_id: str) -> UpdateOne:
        body = event.body
        if isinstance(body, MemberJoined):
            change: Doc = {
                "$set": {
                    **self._common(event, body.user_id),
                    "display_name": body.display_name,
                    "member_id": body.member_id,
                },
                "$setOnInsert": {"status": "active"},
                "$min": {"joined_at_ms": event.occurred_at_ms},
            }
        else:
            assert isinstance(body, MemberLeft)
            change = {
                "$set": {
                    **self._common(event, body.user_id),
                    "status": "completed",
                    "left_at_ms": event.occurred_at_ms,
                    "leave_reason": body.reason,
                    "duration_ms": body.duration_ms,
                },
                "$min": {"joined_at_ms": event.occurred_at_ms - body.duration_ms},
            }
        return UpdateOne({"_id": session_id}, change, upsert=True)

    async def record(self, changes: list[tuple[RoomEvent, str]]) -> None:
        if not changes:
            return
        ops = [self._update(e, sid) for e, sid in changes]
        for i in range(0, len(ops), _BULK):
            await self._c.bulk_write(ops[i : i + _BULK], ordered=False)

    async def by_user(self, user_id: str, limit: int, before: int | None) -> list[SessionRecord]:
        query: Doc = {"user_id": user_id}
        if before is not None:
            query["joined_at_ms"] = {"$lt": before}
        cursor = self._c.find(query).sort([("joined_at_ms", DESCENDING), ("_id", DESCENDING)])
        return [_from(d, SessionRecord) async for d in cursor.limit(limit)]

    async def get_many(self, session_ids: list[str]) -> dict[str, SessionRecord]:
        if not session_ids:
            return {}
        cursor = self._c.find({"_id": {"$in": session_ids}})
        return {r.id: r async for r in (_from(d, SessionRecord) async for d in cursor)}


def _status(doc: Doc) -> CommandStatus:
    d = dict(doc)
    d["command_id"] = d.pop("_id")
    acks = [msgspec.convert(a, RelayAck) for a in d.pop("acks", []) or []]
    # Latest answer per relay, in relay order (a relay may answer more than once).
    latest: dict[str, RelayAck] = {}
    for a in sorted(acks, key=lambda a: a.at_ms):
        latest[a.relay_id] = a
    d["acks"] = [latest[k] for k in sorted(latest)]
    return msgspec.convert(d, CommandStatus)


class MongoCommandAckRepository:
    """Acks on the ``commands`` records written by ``CommandService``."""

    def __init__(self, db: Db) -> None:
        self._c = db.commands

    async def ack(self, command_id: str, relay_id: str, ok: bool, detail: str, at_ms: int) -> bool:
        entry = {"relay_id": relay_id, "ok": ok, "detail": detail, "at_ms": at_ms}
        res = await self._c.update_one(
            {"_id": command_id},
            {"$addToSet": {"acks": entry}, "$min": {"acked_at_ms": at_ms}},
        )
        if res.matched_count == 0:
            return False
        # The summary: "failed" is sticky (any relay failed); else "ok". "expired"
        # is final: a late ack is kept in ``acks`` only.
        if ok:
            await self._c.update_one(
                {"_id": command_id, "ack": {"$nin": ["failed", "expired"]}},
                {"$set": {"ack": "ok", "ack_detail": detail}},
            )
        else:
            await self._c.update_one(
                {"_id": command_id, "ack": {"$ne": "expired"}},
                {"$set": {"ack": "failed", "ack_detail": detail}},
            )
        return True

    async def get(self, command_id: str) -> CommandStatus | None:
        doc = await self._c.find_one({"_id": command_id})
        return None if doc is None else _status(doc)

    async def page(self, limit: int, before: str | None, ack: str | None) -> list[CommandStatus]:
        query: Doc = {}
        if ack is not None:
            query["ack"] = ack
        if before is not None:
            at_s, _, cid = before.partition("-")
            at = int(at_s)
            query["$or"] = [{"at_ms": {"$lt": at}}, {"at_ms": at, "_id": {"$lt": cid}}]
        cursor = self._c.find(query).sort([("at_ms", DESCENDING), ("_id", DESCENDING)])
        return [_status(d) async for d in cursor.limit(limit)]


class MongoDeadLetterRepository:
    def __init__(self, db: Db) -> None:
        self._c = db.dead_letters

    async def put(self, letter: DeadLetter) -> None:
        doc: Doc = {
            "_id": letter.id,
            "stream": letter.stream,
            "entry_id": letter.entry_id,
            "error": letter.error,
            "at_ms": letter.at_ms,
            # Stream field names may hold "." or "$", which MongoDB keys must not.
            "fields": [{"name": k, "value": v} for k, v in letter.fields.items()],
        }
        with contextlib.suppress(DuplicateKeyError):
            await self._c.insert_one(doc)
