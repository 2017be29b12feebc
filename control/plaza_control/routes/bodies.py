"""Request and response bodies at the HTTP edge, and how request bodies are decoded.
Unknown fields are refused."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException

from plaza_control import validation as v
from plaza_control.errors import InvalidInput, UnsupportedMediaType
from plaza_control.models import (
    ApiKey,
    AuditEntry,
    Ban,
    RelayInfo,
    Role,
    RoomInfo,
    User,
    World,
    WorldSettings,
)
from plaza_control.paging import Page


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


def is_json_media_type(media_type: str, params: dict[str, str]) -> bool:
    """``application/json`` or ``application/<anything>+json`` (RFC 6839), in UTF-8
    (RFC 8259: JSON between systems is UTF-8; other charsets are refused)."""
    json = media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
    return json and params.get("charset", "utf-8").strip('"').lower() in ("utf-8", "utf8")


class JsonRequest(Request[Any, Any, Any]):
    """The app's request class: the one place a JSON body is decoded.

    Litestar reads the body (413 over the limit, before any decoding), skips an
    empty one (a required body then fails validation: 400), and calls ``json()``
    for the rest. Here a body sent as anything but JSON is refused with 415, and
    every way msgspec can fail on untrusted bytes becomes 400 ``invalid-input``:
    malformed JSON (``SerializationException``), invalid UTF-8 inside a string
    (msgspec raises ``UnicodeDecodeError``), and nesting deeper than the
    interpreter's recursion limit (``RecursionError``, ~1,000 levels). Decoding a
    body into its struct (types, unknown fields, constraints) is Litestar's
    validation: 400 with ``errors``."""

    async def json(self) -> Any:
        media_type, params = self.content_type
        if not is_json_media_type(media_type, params):
            shown = media_type or "no Content-Type"
            raise UnsupportedMediaType(f"send the body as application/json, not {shown}")
        try:
            return await super().json()
        except SerializationException as exc:
            raise InvalidInput(f"the body is not valid JSON: {exc.detail}") from None
        except UnicodeDecodeError:
            raise InvalidInput("the body is not valid UTF-8") from None
        except RecursionError:
            raise InvalidInput("the body nests too deeply") from None


WorldId = Annotated[str, msgspec.Meta(pattern=v.WORLD_ID, examples=["lobby"])]
RoomId = Annotated[str, msgspec.Meta(pattern=v.ROOM_ID, examples=["lobby.1a2b3c4d5e6f"])]
RelayId = Annotated[str, msgspec.Meta(pattern=v.RELAY_ID, examples=["relay-a"])]
UserId = Annotated[str, msgspec.Meta(pattern=v.USER_ID, examples=["u_0123456789abcdefghij"])]
Region = Annotated[str, msgspec.Meta(pattern=v.REGION, examples=["eu-west"])]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RawName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class GuestSignIn(Body):
    device_id: Annotated[str, msgspec.Meta(pattern=v.DEVICE_ID)]
    display_name: RawName


class ExternalSignIn(Body):
    id_token: Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
    display_name: RawName | None = None


class RefreshIn(Body):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class JoinIn(Body):
    world_id: WorldId
    room_id: RoomId | None = None
    region: Region | None = None
    resume_session_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None


class WorldCreate(Body):
    id: WorldId
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    settings: WorldSettings = msgspec.field(default_factory=WorldSettings)


class WorldUpdate(Body):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    settings: WorldSettings | None = None
    #: Optimistic concurrency: refuse the change unless the world is at this version.
    expected_version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class BanIn(Body):
    reason: Reason
    #: 0 = permanent.
    duration_seconds: Annotated[int, msgspec.Meta(ge=0, le=10 * 365 * 86400)] = 0


class KickIn(Body):
    user_id: UserId
    reason: Reason


class MuteIn(Body):
    reason: Reason
    #: Omitted: every room the user is in.
    room_id: RoomId | None = None
    #: 0 = until unmuted.
    duration_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 86400)] = 0


class UnmuteIn(Body):
    room_id: RoomId | None = None


class CloseRoomIn(Body):
    reason: Reason


class AnnounceIn(Body):
    scope: Literal["room", "world", "everyone"]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    room_id: RoomId | None = None
    world_id: WorldId | None = None


class DrainIn(Body):
    reason: Reason
    deadline_seconds: Annotated[int, msgspec.Meta(ge=0, le=86400)] = 300


class UndrainIn(Body):
    reason: Reason


class CommandOut(msgspec.Struct, frozen=True, kw_only=True):
    command_id: str
    kind: str
    #: Empty: sent on the broadcast channel.
    target_relay_id: str
    #: ``pending``, or ``undeliverable`` when ``receivers`` is 0.
    ack: str
    #: Relay processes it was published to (0: none could receive it, so it is
    #: ``undeliverable``; -1: unknown).
    receivers: int = -1


# Lists: every list answers ``{"items": [...], "next": cursor | null}``; pass
# ``next`` back as ``?cursor=`` (same filters) for the following page.


RelayPage = Page[RelayInfo]


RoomPage = Page[RoomInfo]


class UserOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    display_name: str
    kind: str
    created_at_ms: int


UsersPage = Page[UserOut]


BanPage = Page[Ban]


WorldPage = Page[World]


class UserDetail(msgspec.Struct, frozen=True, kw_only=True):
    user: UserOut
    ban: Ban | None
    room_id: str | None


AuditPage = Page[AuditEntry]


class Health(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


class Readiness(Health, frozen=True, kw_only=True):
    #: Live relays that can take a new room now: reported, not a readiness
    #: condition (decision 009); -1 when Redis could not tell.
    placeable_relays: int = -1


def user_out(u: User) -> UserOut:
    return UserOut(id=u.id, display_name=u.display_name, kind=u.kind, created_at_ms=u.created_at_ms)


#: An API key's id: the 12 hex digits after ``pk_``.
API_KEY_ID = r"^[0-9a-f]{12}$"


class ApiKeyIn(Body):
    #: Who or what holds the key (shown in lists and the audit log).
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[\w .@:/-]+$")]
    role: Role


class ApiKeyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    role: Role
    created_at_ms: int
    #: 0 = never used. Updated at most once a minute per key and process.
    last_used_at_ms: int
    revoked: bool


class ApiKeyCreated(ApiKeyOut, frozen=True, kw_only=True):
    #: The key itself, shown this once (only its sha256 is stored).
    key: str


ApiKeyPage = Page[ApiKeyOut]


def api_key_out(k: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=k.id,
        name=k.name,
        role=k.role,
        created_at_ms=k.created_at_ms,
        last_used_at_ms=k.last_used_at_ms,
        revoked=k.revoked,
    )
