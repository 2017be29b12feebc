"""Chat history of a closed room once its ``A room_lifetimes`` field was
forgotten (decisions/016), on real Redis and FerretDB: the default page is the
last lifetime with a stored line, as it was while the field was there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from plaza_control.events.models import ChatRecord
from plaza_control.events.mongo import MongoChatRepository, ensure_history_indexes
from plaza_control.events.reads import ChatHistoryService
from plaza_control.keyspace import Keyspace
from plaza_control.repositories.redis import RedisAllocator, RedisScripts
from plaza_control.settings import Settings


def line(n: int, lifetime: int, room: str = "hall") -> ChatRecord:
    return ChatRecord(
        id=f"e{lifetime}-{n}",
        room_id=room,
        world_id="lobby",
        sequence=n,
        user_id="u_" + "0" * 20,
        display_name="Ann",
        text=f"line {n} of {lifetime}",
        occurred_at_ms=1_800_000_000_000 + n,
        relay_id="relay-a",
        room_lifetime=lifetime,
    )


@pytest.fixture
async def parts(settings: Settings) -> AsyncIterator[tuple[ChatHistoryService, aioredis.Redis]]:
    r = aioredis.Redis.from_url(settings.redis_url)
    m: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
    db = m[settings.mongo_db]
    await ensure_history_indexes(db)
    chat = MongoChatRepository(db)
    await chat.insert_many([line(1, 3), line(2, 3), line(1, 5), line(1, 0, room="old")])
    k = Keyspace(settings.redis_prefix)
    yield ChatHistoryService(chat, RedisAllocator(r, k, RedisScripts(r))), r
    await r.aclose()
    await m.close()


async def test_the_last_lifetime_with_lines_once_the_field_is_gone(
    parts: tuple[ChatHistoryService, aioredis.Redis],
) -> None:
    history, _ = parts
    page = await history.page("hall", "oldest", None, 10)
    assert page.room_lifetime == 5
    assert [i.text for i in page.items] == ["line 1 of 5"]


async def test_the_field_wins_while_it_is_there(
    parts: tuple[ChatHistoryService, aioredis.Redis], settings: Settings
) -> None:
    history, r = parts
    await r.hset(Keyspace(settings.redis_prefix).room_lifetimes, "hall", 3)
    page = await history.page("hall", "oldest", None, 10)
    assert (page.room_lifetime, len(page.items)) == (3, 2)


async def test_a_room_with_lines_from_before_lifetimes_only_reads_lifetime_0(
    parts: tuple[ChatHistoryService, aioredis.Redis],
) -> None:
    history, _ = parts
    page = await history.page("old", "oldest", None, 10)
    assert (page.room_lifetime, [i.text for i in page.items]) == (0, ["line 1 of 0"])
