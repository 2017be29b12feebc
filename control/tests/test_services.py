"""Service rules, with in-memory repositories."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plaza_control import codec, placement
from plaza_control.errors import (
    Banned,
    Conflict,
    Forbidden,
    InvalidInput,
    NoRelayAvailable,
    NotFound,
    RateLimited,
    RoomFull,
    Unauthenticated,
)
from plaza_control.models import ApiKey, Role, WorldSettings
from plaza_control.services.commands import CommandService
from plaza_control.services.join import JoinPolicy, JoinService
from plaza_control.services.operators import ApiKeyService, Auditor
from plaza_control.services.ops import OpsService
from plaza_control.services.players import PlayerService, SignInLimits
from plaza_control.services.worlds import WorldService
from plaza_control.signing_keys import KeyRing, SigningKey
from plaza_control.tokens import SessionClaims, SessionTokens, TicketMinter

from . import memory
from .helpers import relay


@dataclass
class Clock:
    now: int = field(default_factory=lambda: int(time.time() * 1000))

    def __call__(self) -> int:
        return self.now


@dataclass
class World:
    """Every service wired on memory repositories."""

    clock: Clock = field(default_factory=Clock)
    users: memory.MemoryUserRepository = field(default_factory=memory.MemoryUserRepository)
    bans: memory.MemoryBanRepository = field(default_factory=memory.MemoryBanRepository)
    refresh: memory.MemoryRefreshTokenRepository = field(
        default_factory=memory.MemoryRefreshTokenRepository
    )
    worlds_repo: memory.MemoryWorldRepository = field(default_factory=memory.MemoryWorldRepository)
    audit: memory.MemoryAuditRepository = field(default_factory=memory.MemoryAuditRepository)
    cmds: memory.MemoryCommandRepository = field(default_factory=memory.MemoryCommandRepository)
    bus: memory.MemoryCommandBus = field(default_factory=memory.MemoryCommandBus)
    cache: memory.MemoryConfigCache = field(default_factory=memory.MemoryConfigCache)
    alloc: memory.MemoryAllocator = field(default_factory=memory.MemoryAllocator)
    limiter: memory.MemoryRateLimiter = field(default_factory=memory.MemoryRateLimiter)
    key: SigningKey = field(
        default_factory=lambda: SigningKey("k1", Ed25519PrivateKey.generate(), 0)
    )

    def __post_init__(self) -> None:
        self.sessions = SessionTokens(b"q" * 40, "plaza-control", 900)
        self.auditor = Auditor(self.audit, self.clock)
        self.commands = CommandService(self.cmds, self.bus, self.clock)
        self.players = PlayerService(
            users=self.users,
            bans=self.bans,
            refresh_tokens=self.refresh,
            sessions=self.sessions,
            identity=None,
            limiter=self.limiter,
            limits=SignInLimits(60_000, 5, 3),
            refresh_ttl_ms=86_400_000,
            clock=self.clock,
        )
        self.worlds = WorldService(
            self.worlds_repo, self.cache, self.commands, self.auditor, self.clock
        )
        self.ops = OpsService(
            users=self.users,
            bans=self.bans,
            cache=self.cache,
            allocator=self.alloc,
            commands=self.commands,
            auditor=self.auditor,
            clock=self.clock,
        )
        ring = KeyRing(self.key, [self.key])
        self.join = JoinService(
            gate=memory.MemoryJoinGate(self.limiter, self.cache),
            allocator=self.alloc,
            minter=TicketMinter(lambda: ring, "plaza-control", 30),
            policy=JoinPolicy(
                reservation_ms=60_000,
                relay_cache_ms=0,
                scan_limit=16,
                window_ms=60_000,
                per_ip=1000,
                per_user=5,
            ),
            clock=self.clock,
        )


ADMIN = ApiKey(id="admin1", name="a", role=Role.ADMIN, hash="", created_at_ms=0)


def session(user_id: str = "u_00000000000000000001", name: str = "Ann") -> SessionClaims:
    return SessionClaims(sub=user_id, name=name, exp=0, sid="s")


@pytest.fixture
def w() -> World:
    return World()


# Players.


async def test_guest_device_becomes_one_user(w: World) -> None:
    first = await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.1")
    again = await w.players.guest("device-aaaaaaaaaaaaaaaa", "Someone Else", "1.1.1.1")
    other = await w.players.guest("device-bbbbbbbbbbbbbbbb", "Bob", "1.1.1.1")
    assert first.created
    assert not again.created
    assert again.user_id == first.user_id
    assert again.display_name == "Ann"
    assert other.user_id != first.user_id
    assert w.sessions.verify(first.session_token).sub == first.user_id
    # Only hashes are stored.
    assert all("device-" not in (u.device_hash or "") for u in w.users.users.values())
    assert first.refresh_token not in w.refresh.records


async def test_guest_display_name_is_validated(w: World) -> None:
    with pytest.raises(InvalidInput):
        await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann\u202e", "1.1.1.1")


async def test_refresh_rotates_and_reuse_revokes_the_family(w: World) -> None:
    s = await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.1")
    r1 = await w.players.refresh(s.refresh_token, "1.1.1.1")
    assert r1.refresh_token != s.refresh_token
    r2 = await w.players.refresh(r1.refresh_token, "1.1.1.1")
    # Replaying a spent token: refused, and the live descendant dies with it.
    with pytest.raises(Unauthenticated):
        await w.players.refresh(s.refresh_token, "1.1.1.1")
    with pytest.raises(Unauthenticated):
        await w.players.refresh(r2.refresh_token, "1.1.1.1")


async def test_logout_revokes(w: World) -> None:
    s = await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.1")
    await w.players.logout(s.refresh_token)
    with pytest.raises(Unauthenticated):
        await w.players.refresh(s.refresh_token, "1.1.1.1")


async def test_refresh_token_expires(w: World) -> None:
    s = await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.1")
    w.clock.now += 86_400_001
    with pytest.raises(Unauthenticated):
        await w.players.refresh(s.refresh_token, "1.1.1.1")


async def test_ban_enforced_at_sign_in_and_lifted(w: World) -> None:
    s = await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.1")
    await w.ops.ban(ADMIN, s.user_id, "spam", 60)
    with pytest.raises(Banned):
        await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.2")
    with pytest.raises(Banned):
        await w.players.refresh(s.refresh_token, "1.1.1.1")
    w.clock.now += 61_000
    await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.3")


async def test_sign_in_rate_limit_per_ip_and_device(w: World) -> None:
    for _ in range(3):
        await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "9.9.9.9")
    with pytest.raises(RateLimited) as exc:
        await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "9.9.9.8")  # device limit 3
    assert exc.value.retry_after is not None
    for i in range(2):
        await w.players.guest(f"device-{i}cccccccccccccccc", "Cy", "9.9.9.9")
    with pytest.raises(RateLimited):
        await w.players.guest("device-dddddddddddddddd", "Di", "9.9.9.9")  # ip limit 5
    w.limiter.now_ms += 60_000
    await w.players.guest("device-dddddddddddddddd", "Di", "9.9.9.9")


# Worlds.


async def test_world_versions_cache_and_reload(w: World) -> None:
    world = await w.worlds.create(ADMIN, "lobby", "Lobby", WorldSettings(room_capacity=4))
    assert world.version == 1
    assert w.cache.worlds["lobby"].version == 1
    updated = await w.worlds.update(ADMIN, "lobby", None, WorldSettings(room_capacity=8), None)
    assert updated.version == 2
    assert w.cache.worlds["lobby"].settings.room_capacity == 8
    renamed = await w.worlds.update(ADMIN, "lobby", "Big lobby", None, 2)
    assert renamed.version == 3
    with pytest.raises(Conflict):
        await w.worlds.update(ADMIN, "lobby", "x", None, 2)
    with pytest.raises(Conflict):
        await w.worlds.create(ADMIN, "lobby", "Again", WorldSettings())
    reloads: list[Any] = [
        codec.decode_command(p) for relay_id, p in w.bus.published if relay_id == ""
    ]
    assert [c.body.config.version for c in reloads] == [1, 2, 3]
    await w.worlds.delete(ADMIN, "lobby")
    assert "lobby" not in w.cache.worlds
    with pytest.raises(NotFound):
        await w.worlds.get("lobby")
    actions = [(e.action, e.result) for e in w.audit.entries]
    assert actions == [
        ("world.create", "ok"),
        ("world.update", "ok"),
        ("world.update", "ok"),
        ("world.update", "error"),
        ("world.create", "error"),
        ("world.delete", "ok"),
    ]


# Join.


async def _lobby(w: World, capacity: int = 2) -> None:
    await w.worlds.create(ADMIN, "lobby", "Lobby", WorldSettings(room_capacity=capacity))


async def test_join_returns_a_ticket_for_the_assigned_relay(w: World) -> None:
    await _lobby(w)
    w.alloc.heartbeats["relay-a"] = relay("relay-a")
    out = await w.join.join(session(), "lobby", None, None, "sid-1", "1.1.1.1")
    claims = jwt.decode(
        out.ticket,
        w.key.private_key.public_key(),
        algorithms=["EdDSA"],
        audience="relay-a",
        issuer="plaza-control",
    )
    assert claims["room"] == out.room_id
    assert claims["world"] == "lobby"
    assert claims["wcv"] == 1
    assert claims["sid"] == "sid-1"
    assert claims["perms"] == ["move", "chat", "emote", "state"]
    assert claims["exp"] - claims["iat"] == 30
    assert out.relay_url == relay("relay-a").public_url
    assert out.settings.room_capacity == 2


async def test_ticket_carries_the_room_lifetime_and_a_new_room_gets_a_new_one(w: World) -> None:
    await _lobby(w)
    w.alloc.heartbeats["relay-a"] = relay("relay-a")
    out = await w.join.join(session(), "lobby", "hall", None, None, "1.1.1.1")
    key = w.key.private_key.public_key()

    def rlt(ticket: str) -> int:
        claims = jwt.decode(ticket, key, algorithms=["EdDSA"], audience="relay-a")
        return int(claims["rlt"])

    assert (out.room_lifetime, rlt(out.ticket)) == (1, 1)
    mod = ApiKey(id="mod1", name="m", role=Role.MODERATOR, hash="", created_at_ms=0)
    await w.ops.close_room(mod, "hall", "reset")
    again = await w.join.join(session(), "lobby", "hall", None, None, "1.1.1.1")
    assert (again.room_lifetime, rlt(again.ticket)) == (2, 2)


async def test_a_mute_outlives_its_room_and_is_minted_into_every_ticket(w: World) -> None:
    await _lobby(w)
    w.alloc.heartbeats["relay-a"] = relay("relay-a")
    key = w.key.private_key.public_key()
    user = "u_00000000000000000001"

    async def mut(room: str | None = None) -> object:
        w.limiter.windows.clear()  # more joins than the per-user limit allows
        out = await w.join.join(session(user), "lobby", room, None, None, "1.1.1.1")
        claims = jwt.decode(out.ticket, key, algorithms=["EdDSA"], audience="relay-a", leeway=5)
        return claims.get("mut")

    first = await w.join.join(session(user), "lobby", "hall", None, None, "1.1.1.1")
    assert "mut" not in jwt.decode(first.ticket, key, algorithms=["EdDSA"], audience="relay-a")
    mod = ApiKey(id="mod1", name="m", role=Role.MODERATOR, hash="", created_at_ms=0)
    await w.ops.mute(mod, user, "", 600, "shouting")
    until = w.clock.now + 600_000
    await w.ops.close_room(mod, "hall", "reset")
    # The room is gone and the relay forgot the user: the ticket still mutes.
    assert await mut("hall") == until
    assert await mut("elsewhere") == until
    # A mute with no end is minted as 2**53 - 1; a room mute applies in that room only.
    await w.ops.mute(mod, user, "", 0, "until further notice")
    assert await mut() == 2**53 - 1
    await w.ops.mute(mod, user, "elsewhere", 60, "there only")
    assert await mut("elsewhere") == w.clock.now + 60_000
    assert await mut("hall") is None
    await w.ops.unmute(mod, user, "")
    assert await mut("elsewhere") is None
    # An ended mute is not minted.
    await w.ops.mute(mod, user, "", 1, "brief")
    w.clock.now += 1001
    assert await mut("elsewhere") is None


async def test_join_errors(w: World) -> None:
    with pytest.raises(NotFound):
        await w.join.join(session(), "lobby", None, None, None, "1.1.1.1")
    await _lobby(w, capacity=1)
    with pytest.raises(NoRelayAvailable) as exc:
        await w.join.join(session(), "lobby", None, None, None, "1.1.1.1")
    assert exc.value.retry_after
    w.alloc.heartbeats["relay-a"] = relay("relay-a")
    await w.join.join(session("u_00000000000000000001"), "lobby", "vip", None, None, "1.1.1.1")
    with pytest.raises(RoomFull):
        await w.join.join(session("u_00000000000000000002"), "lobby", "vip", None, None, "1.1.1.1")


async def test_join_refuses_banned_users_from_the_cache(w: World) -> None:
    await _lobby(w)
    w.alloc.heartbeats["relay-a"] = relay("relay-a")
    s = await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.1")
    await w.ops.ban(ADMIN, s.user_id, "cheating", 0)
    with pytest.raises(Banned):
        await w.join.join(session(s.user_id), "lobby", None, None, None, "1.1.1.1")
    await w.ops.unban(ADMIN, s.user_id)
    await w.join.join(session(s.user_id), "lobby", None, None, None, "1.1.1.1")


async def test_join_rate_limit_per_user(w: World) -> None:
    await _lobby(w)
    w.alloc.heartbeats["relay-a"] = relay("relay-a")
    for _ in range(5):
        await w.join.join(session(), "lobby", None, None, None, "1.1.1.1")
    with pytest.raises(RateLimited):
        await w.join.join(session(), "lobby", None, None, None, "1.1.1.2")


async def test_region_preference_and_state_filter(w: World) -> None:
    await _lobby(w, capacity=1)
    eu = relay("relay-eu", region="eu-west", connections=900, capacity=1000)
    us = relay("relay-us", region="us-east", connections=0)
    starting = relay("relay-new", region="eu-west", state="starting")
    for r in (eu, us, starting):
        w.alloc.heartbeats[r.relay_id] = r
    out = await w.join.join(
        session("u_00000000000000000001"), "lobby", None, "eu-west", None, "1.1.1.1"
    )
    assert out.relay_id == "relay-eu"
    out = await w.join.join(
        session("u_00000000000000000002"), "lobby", None, "ap-south", None, "1.1.1.1"
    )
    assert out.relay_id == "relay-us"
    assert [r.relay_id for r in placement.candidates([eu, us, starting], None)] == [
        "relay-eu",
        "relay-us",
    ]


# Ops.


async def test_ops_commands_are_recorded_published_and_audited(w: World) -> None:
    await _lobby(w)
    w.alloc.heartbeats["relay-a"] = relay("relay-a")
    s = await w.players.guest("device-aaaaaaaaaaaaaaaa", "Ann", "1.1.1.1")
    out = await w.join.join(session(s.user_id), "lobby", None, None, None, "1.1.1.1")
    mod = ApiKey(id="mod1", name="m", role=Role.MODERATOR, hash="", created_at_ms=0)
    kick = await w.ops.kick(mod, out.room_id, s.user_id, "spam")
    # No relay process subscribed to relay-a's channel: final at once.
    assert w.cmds.records[kick.id].ack == "undeliverable"
    w.bus.subscribe("relay-a")
    kick = await w.ops.kick(mod, out.room_id, s.user_id, "spam")
    assert (w.cmds.records[kick.id].ack, w.cmds.records[kick.id].receivers) == ("pending", 1)
    relay_id, payload = w.bus.published[-1]
    cmd: Any = codec.decode_command(payload)
    assert relay_id == "relay-a"
    assert cmd.commandId == kick.id.encode()
    assert cmd.issuedBy == b"mod1"
    mute = await w.ops.mute(mod, s.user_id, "", 60, "shouting")
    assert mute.target_relay_id == ""
    ban = await w.ops.ban(mod, s.user_id, "again", 0)
    assert ban is not None
    assert ban.kind == "kick"
    await w.ops.close_room(mod, out.room_id, "event over")
    assert await w.alloc.room(out.room_id) is None
    with pytest.raises(NotFound):
        await w.ops.kick(mod, out.room_id, s.user_id, "gone")
    with pytest.raises(InvalidInput):
        await w.ops.announce(mod, "room", "", "", "hi")
    drained = await w.ops.drain(mod, "relay-a", 60, "deploy")
    assert drained.kind == "drain"
    assert "relay-a" in w.alloc.draining
    results = [(e.actor, e.action, e.result) for e in w.audit.entries if e.actor == "mod1"]
    assert results == [
        ("mod1", "room.kick", "ok"),
        ("mod1", "room.kick", "ok"),
        ("mod1", "user.mute", "ok"),
        ("mod1", "user.ban", "ok"),
        ("mod1", "room.close", "ok"),
        ("mod1", "room.kick", "error"),
        ("mod1", "announce", "error"),
        ("mod1", "relay.drain", "ok"),
    ]


async def test_api_keys_roles(w: World) -> None:
    svc = ApiKeyService(memory.MemoryApiKeyRepository(), w.clock)
    key, record = await svc.create(Role.MODERATOR, "mod")
    assert (await svc.authenticate(key)).id == record.id
    for bad in (
        "",
        "pk_",
        key[:-1] + ("A" if key[-1] != "A" else "B"),
        "pk_000000000000_x",
        key + "x",
    ):
        with pytest.raises(Unauthenticated):
            await svc.authenticate(bad)
    svc.require(record, Role.VIEWER)
    svc.require(record, Role.MODERATOR)
    with pytest.raises(Forbidden):
        svc.require(record, Role.ADMIN)


def test_time_is_sane() -> None:
    assert time.time() > 1_700_000_000
