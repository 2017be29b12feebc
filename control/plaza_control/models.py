"""Domain records: msgspec structs shared by services and repositories, and the
messages that cross Redis as the control plane sees them (relay heartbeats,
world configs, commands to relays, room events from relays).
``plaza_control.codec`` alone turns the latter into FlatBuffers and back.

Times are Unix milliseconds (``*_ms``) unless a name says seconds.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec

U16 = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Rate = Annotated[float, msgspec.Meta(ge=0.0, le=1000.0)]


class Role(enum.Enum):
    """Operator roles; each includes the ones below it."""

    VIEWER = "viewer"
    MODERATOR = "moderator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_ROLE_RANK = {Role.VIEWER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}

PERMISSIONS: tuple[str, ...] = ("move", "chat", "emote", "state")


class WorldSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Room settings of a world; mirrors schemas/world_config.fbs field for field."""

    room_capacity: Annotated[int, msgspec.Meta(ge=1, le=5000)] = 50
    tick_rate_hz: Annotated[int, msgspec.Meta(ge=1, le=60)] = 20
    interest_radius: Annotated[float, msgspec.Meta(ge=0.0, le=100000.0)] = 50.0
    far_every_ticks: U16 = 5
    max_chat_bytes: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 512
    chats_per_second: Rate = 2.0
    chat_burst: U16 = 5
    moves_per_second: Rate = 30.0
    move_burst: U16 = 30
    emotes_per_second: Rate = 2.0
    emote_burst: U16 = 4
    state_sets_per_second: Rate = 5.0
    state_set_burst: U16 = 10
    max_state_key_bytes: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 64
    max_state_value_bytes: Annotated[int, msgspec.Meta(ge=1, le=1_048_576)] = 4096
    max_state_keys: U16 = 256
    empty_grace_seconds: U16 = 30


class World(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    version: int
    settings: WorldSettings
    created_at_ms: int
    updated_at_ms: int


class WorldConfigView(msgspec.Struct, frozen=True, kw_only=True):
    """What the join path needs of a world, decoded from the Redis cache."""

    world_id: str
    version: int
    settings: WorldSettings


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    display_name: str
    kind: Literal["guest", "external"]
    created_at_ms: int
    device_hash: str | None = None
    external_key: str | None = None


class Ban(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    reason: str
    #: 0 = permanent.
    until_ms: int
    by: str
    at_ms: int

    def active(self, now_ms: int) -> bool:
        return self.until_ms == 0 or self.until_ms > now_ms


#: ``until_ms`` of a mute with no end, as minted in the ticket's ``mut`` claim
#: (2^53-1: a Unix ms time every language holds exactly).
MUTE_FOREVER_MS = 9007199254740991


class Mute(msgspec.Struct, frozen=True, kw_only=True):
    """An operator's mute, kept in Redis (``P mute:{<user_id>}``) so it outlives
    the room it was given in (decisions/009): every join mints it into the ticket."""

    user_id: str
    reason: str
    #: 0 = until unmuted.
    until_ms: int
    by: str
    at_ms: int
    #: '' = every room; else the one room id it applies to.
    room_id: str = ""

    def active(self, now_ms: int) -> bool:
        return self.until_ms == 0 or self.until_ms > now_ms

    def claim(self, room_id: str, now_ms: int) -> int:
        """The ticket's ``mut`` for a join of ``room_id``: 0 when it does not apply."""
        if not self.active(now_ms) or (self.room_id and self.room_id != room_id):
            return 0
        return self.until_ms or MUTE_FOREVER_MS


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    role: Role
    #: sha256 hex of the whole key string.
    hash: str
    created_at_ms: int
    revoked: bool = False
    #: When the key last authenticated a request (ms; 0 = never). Written at most
    #: once per ``ApiKeyService.TOUCH_INTERVAL_MS`` per key and process.
    last_used_at_ms: int = 0


class RefreshRecord(msgspec.Struct, frozen=True, kw_only=True):
    #: sha256 hex of the token; the token itself is never stored.
    hash: str
    family: str
    user_id: str
    created_at_ms: int
    expires_at_ms: int
    rotated: bool = False
    revoked: bool = False


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    #: Sortable: 13-digit ms time + random suffix; pages go newest first.
    id: str
    at_ms: int
    actor: str
    action: str
    target: str
    result: Literal["ok", "error"]
    #: The HTTP status of the answer (202, 204, 403, ...).
    status: int
    detail: str = ""
    #: The API key's name (``actor`` is its id); '' for entries before names.
    actor_name: str = ""
    #: The operator's reason and the duration asked for (bans, mutes; 0 =
    #: permanent), when the action takes them.
    reason: str = ""
    duration_seconds: int | None = None
    #: The request's id (``X-Request-ID``, in the logs and problem bodies too).
    request_id: str = ""


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What an audit page is narrowed to; every field given must match."""

    #: A key id or a key name.
    actor: str | None = None
    action: str | None = None
    #: A prefix of the target (``lobby.r1`` matches ``lobby.r1/u_...``).
    target: str | None = None
    #: ``since_ms`` ≤ ``at_ms`` < ``until_ms``.
    since_ms: int | None = None
    until_ms: int | None = None

    def matches(self, e: AuditEntry) -> bool:
        return (
            (self.actor is None or self.actor in (e.actor, e.actor_name))
            and (self.action is None or e.action == self.action)
            and (self.target is None or e.target.startswith(self.target))
            and (self.since_ms is None or e.at_ms >= self.since_ms)
            and (self.until_ms is None or e.at_ms < self.until_ms)
        )


#: A command's summary state (docs/control.md, "Commands").
CommandAck = Literal["pending", "ok", "failed", "expired", "undeliverable"]


class CommandRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    at_ms: int
    issued_by: str
    #: Empty: broadcast channel.
    target_relay_id: str
    kind: str
    body: dict[str, object]
    #: ``expired``: no relay acknowledged it by ``deadline_ms`` (pub/sub delivers
    #: at most once; a final state, set by the maintenance loop).
    #: ``undeliverable``: no relay process was subscribed to its channel when it
    #: was sent (``receivers`` 0); final from the start, except that an ack from
    #: a relay that subscribed in that same instant still makes it ``ok``/``failed``.
    ack: CommandAck = "pending"
    ack_detail: str = ""
    #: When a still ``pending`` command becomes ``expired``; 0 for records written
    #: before deadlines existed (they expire ``PLAZA_COMMAND_DEADLINE_SECONDS``
    #: after ``at_ms``).
    deadline_ms: int = 0
    #: Relay processes subscribed to its channel just before it was published
    #: (``PUBSUB NUMSUB``): how many answers a broadcast can get. 0: none
    #: could receive it (``ack`` is ``undeliverable``); -1: not known (older
    #: records, or not published yet).
    receivers: int = -1


class RelayInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A live relay, decoded from its heartbeat key."""

    relay_id: str
    public_url: str
    region: str
    state: Literal["starting", "ready", "draining", "stopping"]
    capacity_connections: int
    connections: int
    rooms: int
    cpu_percent: float
    egress_bytes_per_second: int
    sent_at_ms: int
    build: str
    started_at_ms: int
    #: This process's incarnation (16 hex chars, decisions/009); '' from a relay
    #: older than that.
    boot_id: str = ""
    #: Seats the control plane has reserved/confirmed on this relay.
    seats: int = 0
    #: Marked draining by an operator (takes effect before the relay reports it).
    drain_requested: bool = False
    #: The boot id the drain is for (``A drain_incarnations``); '' when not
    #: draining or when the drained heartbeat carried no boot id.
    drain_boot_id: str = ""


class RoomInfo(msgspec.Struct, frozen=True, kw_only=True):
    room_id: str
    world_id: str
    relay_id: str
    seats: int
    created_at_ms: int
    #: The room's current lifetime (decisions/009); 0 only for an allocation
    #: written before lifetimes existed (it gets one at its next join).
    lifetime: int = 0


class Seat(msgspec.Struct, frozen=True, kw_only=True):
    """One seat of a room (``A room:<id>:seats`` and ``A room:<id>:sessions``)."""

    user_id: str
    #: Admitted by the relay (the ``seats`` group confirmed it); else reserved
    #: for a ticket not redeemed yet.
    confirmed: bool
    #: When an unconfirmed reservation lapses (ms); 0 once confirmed.
    expires_at_ms: int = 0
    #: The relay session that confirmed the seat; '' while reserved.
    session_id: str = ""


class StateKey(msgspec.Struct, frozen=True, kw_only=True):
    """One key of a room's state as the relay last saved it."""

    key: str
    version: int
    #: member id of the last writer; 0 = the server or an operator.
    updated_by: int
    #: Length of the value in bytes (values are opaque to the control plane).
    value_bytes: int


class RoomStateSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """``P room:{<id>}:snapshot`` decoded (schemas/room_event.fbs)."""

    room_id: str
    world_id: str
    relay_id: str
    #: The room sequence of the last reliable event in the snapshot.
    sequence: int
    saved_at_ms: int
    #: The lifetime the state belongs to (decisions/009); 0: an older relay.
    room_lifetime: int
    keys: list[StateKey]


# Commands to relays (schemas/relay_command.fbs, union ``CommandBody``): what a
# service sends; ``codec.encode_command`` builds the schema's table from them.


class KickBody(msgspec.Struct, frozen=True, tag="kick"):
    room_id: str
    user_id: str
    reason: str
    # True when the kick enforces a ban: the relay closes with 4108 Banned.
    banned: bool = False


class MuteBody(msgspec.Struct, frozen=True, tag="mute"):
    room_id: str
    user_id: str
    duration_seconds: int
    reason: str


class UnmuteBody(msgspec.Struct, frozen=True, tag="unmute"):
    room_id: str
    user_id: str


class CloseRoomBody(msgspec.Struct, frozen=True, tag="close_room"):
    room_id: str
    reason: str


class AnnounceBody(msgspec.Struct, frozen=True, tag="announce"):
    scope: Literal["room", "world", "everyone"]
    room_id: str
    world_id: str
    text: str


class DrainBody(msgspec.Struct, frozen=True, tag="drain"):
    deadline_seconds: int
    reason: str


class ReloadConfigBody(msgspec.Struct, frozen=True, tag="reload_config"):
    world_id: str
    version: int
    settings: WorldSettings


CommandBodyT = (
    KickBody | MuteBody | UnmuteBody | CloseRoomBody | AnnounceBody | DrainBody | ReloadConfigBody
)


# Room events from relays (schemas/room_event.fbs, ``P events``), decoded by
# ``codec.decode_room_event``.


class MemberJoined(msgspec.Struct, frozen=True, kw_only=True, tag="member_joined"):
    user_id: str
    member_id: int = 0
    display_name: str = ""
    session_id: str = ""


class MemberLeft(msgspec.Struct, frozen=True, kw_only=True, tag="member_left"):
    user_id: str
    member_id: int = 0
    session_id: str = ""
    #: ``plaza.common.LeaveReason`` in lower case ("left", "drained", ...); unknown
    #: values (a newer relay) read as ``reason_<n>``.
    reason: str = "left"
    duration_ms: int = 0


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True, tag="chat_message"):
    sequence: int
    user_id: str
    display_name: str = ""
    text: str = ""


class StateChanged(msgspec.Struct, frozen=True, kw_only=True, tag="state_changed"):
    sequence: int
    key: str = ""
    version: int = 0
    value_bytes: int = 0
    deleted: bool = False


class RoomClosed(msgspec.Struct, frozen=True, kw_only=True, tag="room_closed"):
    reason: str = ""
    last_sequence: int = 0


class CommandAcked(msgspec.Struct, frozen=True, kw_only=True, tag="command_ack"):
    command_id: str
    ok: bool
    detail: str = ""


EventBodyT = MemberJoined | MemberLeft | ChatMessage | StateChanged | RoomClosed | CommandAcked


class RoomEvent(msgspec.Struct, frozen=True, kw_only=True):
    #: ``{relay_id}:{relay_boot}:{counter}``; the idempotency key.
    event_id: str
    relay_id: str
    #: Empty for events not about a room (e.g. the ack of a drain).
    room_id: str
    world_id: str
    occurred_at_ms: int
    body: EventBodyT
    #: The room lifetime the event is about (decisions/009); 0: not about a
    #: room, or a relay older than that (applied without the lifetime guard).
    room_lifetime: int = 0

    @property
    def kind(self) -> str:
        return type(self.body).__struct_config__.tag  # type: ignore[return-value]
