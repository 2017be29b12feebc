"""Relay events reach MongoDB exactly once even when a consumer dies mid-stream."""

from __future__ import annotations

import asyncio
import time

import httpx
from pymongo import AsyncMongoClient

from .cluster import Cluster
from .player import Player, text

ROOM = "sys-events-room"
LINES = 60


async def test_consumer_killed_mid_stream_every_chat_stored_exactly_once(
    fresh_cluster: Cluster,
) -> None:
    urls = [c.url for c in fresh_cluster.controls]
    players = [Player(urls[i % 2], f"ev{i}") for i in range(3)]
    async with httpx.AsyncClient(timeout=20) as http:
        for p in players:
            await p.sign_in(http)
            await p.join_and_connect(http, room=ROOM)
    victim = fresh_cluster.controls[0]
    try:
        for i in range(LINES):
            await players[i % 3].chat(f"msg {i:03d}")
            if i == LINES // 2:
                victim.process.kill()  # SIGKILL: entries it read but did not ack stay pending
            # Stay under the world's chat rate (2/s per player, 3 players).
            await asyncio.sleep(0.2)
        await players[0].wait_for(lambda e: text(getattr(e.message, "text", None)) == "msg 059")
        fresh_cluster.controls.remove(victim)
        fresh_cluster.start_control(port=victim.port)  # restarts, rejoins the consumer group

        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(fresh_cluster.mongo_url)
        try:
            chat = client[fresh_cluster.mongo_db]["chat"]
            deadline = time.monotonic() + 30
            docs: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                docs = await chat.find({"room_id": ROOM}).to_list(None)
                if len(docs) >= LINES:
                    break
                await asyncio.sleep(0.3)
        finally:
            await client.close()
        texts = sorted(str(d["text"]) for d in docs)
        assert texts == [f"msg {i:03d}" for i in range(LINES)], (
            f"{len(docs)} stored; missing or duplicated: "
            f"{sorted(set(texts) ^ {f'msg {i:03d}' for i in range(LINES)})}"
        )
        sequences = [d["sequence"] for d in docs]
        assert len(set(sequences)) == LINES, "a chat message was stored twice"
    finally:
        await asyncio.gather(*(p.close() for p in players))
