"""The Redis key space, Python's builders. Every name is declared once in
``schemas/keyspace.json``; ``tests/test_keyspace.py`` holds each public name here
to that declaration (a method's parameters are the entry's placeholders).

All allocation keys carry the ``{alloc}`` hash tag so the join script touches a
single cluster slot. Per-entity caches carry the entity id as their tag.
"""

from __future__ import annotations


class Keyspace:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        #: Prefix of every allocation key; passed to the Lua scripts as ARGV[1].
        self.alloc = f"{prefix}{{alloc}}:"

    # Allocation slot.
    @property
    def relays(self) -> str:
        return f"{self.alloc}relays"

    def relay_hb(self, relay_id: str) -> str:
        return f"{self.alloc}relay:{relay_id}:hb"

    def relay_rooms(self, relay_id: str) -> str:
        return f"{self.alloc}relay:{relay_id}:rooms"

    @property
    def relay_seats(self) -> str:
        return f"{self.alloc}relay_seats"

    @property
    def draining(self) -> str:
        return f"{self.alloc}draining"

    @property
    def rooms(self) -> str:
        return f"{self.alloc}rooms"

    def room(self, room_id: str) -> str:
        return f"{self.alloc}room:{room_id}"

    def room_seats(self, room_id: str) -> str:
        return f"{self.alloc}room:{room_id}:seats"

    def room_sessions(self, room_id: str) -> str:
        return f"{self.alloc}room:{room_id}:sessions"

    def world_rooms(self, world_id: str) -> str:
        return f"{self.alloc}world:{world_id}:rooms"

    @property
    def user_seats(self) -> str:
        return f"{self.alloc}user_seats"

    @property
    def sessions_ended(self) -> str:
        return f"{self.alloc}sessions_ended"

    @property
    def room_lifetimes(self) -> str:
        return f"{self.alloc}room_lifetimes"

    @property
    def drain_incarnations(self) -> str:
        return f"{self.alloc}drain_incarnations"

    # Caches, one slot per entity.
    def world_config(self, world_id: str) -> str:
        return f"{self.prefix}world:{{{world_id}}}:config"

    def ban(self, user_id: str) -> str:
        return f"{self.prefix}ban:{{{user_id}}}"

    def mute(self, user_id: str) -> str:
        return f"{self.prefix}mute:{{{user_id}}}"

    def rate(self, scope: str, subject: str) -> str:
        return f"{self.prefix}rl:{{{scope}:{subject}}}"

    def user_by_device(self, device_hash: str) -> str:
        return f"{self.prefix}user:device:{{{device_hash}}}"

    def user_by_identity(self, identity_hash: str) -> str:
        return f"{self.prefix}user:identity:{{{identity_hash}}}"

    def room_snapshot(self, room_id: str) -> str:
        return f"{self.prefix}room:{{{room_id}}}:snapshot"

    # Pub/sub and streams.
    def cmd_relay(self, relay_id: str) -> str:
        return f"{self.prefix}cmd:relay:{relay_id}"

    @property
    def cmd_all(self) -> str:
        return f"{self.prefix}cmd:all"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"
