"""Placement across 3 relays and 2 control plane processes."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import httpx

from .cluster import Cluster
from .player import Player, text


async def test_concurrent_joins_from_both_control_planes_never_split_a_room(
    shared_cluster: Cluster,
) -> None:
    urls = [c.url for c in shared_cluster.controls]
    players = [Player(urls[i % 2], f"p{i}") for i in range(60)]
    async with httpx.AsyncClient(timeout=20) as http:
        await asyncio.gather(*(p.sign_in(http) for p in players))
        joined = await asyncio.gather(*(p.join(http) for p in players))

    relays_of_room: dict[str, set[str]] = defaultdict(set)
    for j in joined:
        relays_of_room[j.room_id].add(j.relay_id)
    split = {room: relays for room, relays in relays_of_room.items() if len(relays) > 1}
    assert not split, f"rooms placed on two relays: {split}"

    seats = Counter(j.room_id for j in joined)
    assert max(seats.values()) <= 8, f"room over capacity: {seats}"
    assert len(seats) >= 60 // 8, "players were not spread into enough rooms"
    used_relays = {j.relay_id for j in joined}
    assert len(used_relays) >= 2, f"all rooms landed on {used_relays}: placement does not spread"


async def test_players_meet_on_the_assigned_relay_and_chat_in_order(
    shared_cluster: Cluster,
) -> None:
    urls = [c.url for c in shared_cluster.controls]
    room = "sys-chat-room"
    players = [Player(urls[i % 2], f"chatter{i}") for i in range(4)]
    async with httpx.AsyncClient(timeout=20) as http:
        for p in players:
            await p.sign_in(http)
            await p.join_and_connect(http, room=room)
    try:
        assert len({p.joined.relay_id for p in players if p.joined}) == 1
        for i in range(5):
            await players[i % 4].chat(f"line {i}")
        for p in players:
            await p.wait_for(lambda _e, p=p: len(p.chats()) >= 5, within=10)
        # Lines from different senders race to the relay, so the room's order
        # may differ from the send order; what the room guarantees is one
        # order, the same for every member, with increasing sequences.
        orders = [[text(c.text) for c in p.chats()] for p in players]
        assert sorted(orders[0]) == [f"line {i}" for i in range(5)], orders[0]
        assert all(o == orders[0] for o in orders), f"members saw different orders: {orders}"
        for p in players:
            seqs = [c.sequence for c in p.chats()]
            assert seqs == sorted(seqs)
            assert len(set(seqs)) == 5
    finally:
        await asyncio.gather(*(p.close() for p in players))
