"""A typed client of the ops API (``/v1/ops``, docs/control.md) over httpx.

Each method is one route; answers are the API's JSON, unchanged. Lists take a
``Span`` and follow the ``next`` cursors the API gives (``paging``): the result
is one ``{"items", "next"}`` object, ``next`` being the cursor after the last
item fetched (null at the end of the list). Every failure raises ``OpsError``;
an error answer raises ``ApiError``. The API key travels in the
``X-API-Key`` header of each request and nowhere else: no message of this
module contains it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from plaza_ops.errors import ApiError, ExitCode, OpsError

Json = dict[str, Any]
#: Items asked for per request while following cursors (every list takes 100).
PAGE_SIZE = 100
DEFAULT_URL = "http://127.0.0.1:18080"


@dataclass(frozen=True)
class Span:
    """Which part of a list to fetch: at most ``limit`` items (``None``: all of
    it), starting at ``cursor`` (a ``next`` from an earlier answer)."""

    limit: int | None = 100
    cursor: str | None = None


def _seg(value: str) -> str:
    """A path segment, escaped (ids are checked by the API, not here)."""
    return quote(value, safe="")


def _query(params: dict[str, object]) -> dict[str, str]:
    """Query parameters without the unset ones; booleans as the API spells them."""
    out: dict[str, str] = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


class OpsClient:
    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"user-agent": "plaza-ops", "accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- transport ---------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, object] | None = None,
        body: Json | None = None,
    ) -> Any:
        """One request; the decoded JSON answer, or None for an empty one (204)."""
        if not self._key:
            raise OpsError("no API key: pass --key or set PLAZA_OPS_KEY", ExitCode.AUTH)
        try:
            resp = self._http.request(
                method,
                path,
                params=_query(params or {}),
                json=body,
                headers={"x-api-key": self._key},
            )
        except httpx.TimeoutException:
            raise OpsError(
                f"{method} {self.base_url}{path}: no answer within {self._timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise OpsError(f"cannot reach {self.base_url}: {exc}") from None
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, _problem(resp))
        if not resp.content:
            return None
        try:
            return resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise OpsError(
                f"{method} {path}: {resp.status_code} answer is not JSON "
                f"({resp.headers.get('content-type', 'no content type')})"
            ) from None

    def collect(self, path: str, params: dict[str, object], span: Span) -> Json:
        """The items of a list from ``span.cursor`` on, following ``next`` until
        ``span.limit`` items or the end; one ``{"items", "next"}`` object (the
        API's own page when one request was enough)."""
        items: list[Any] = []
        cursor = span.cursor
        while True:
            want = PAGE_SIZE if span.limit is None else min(PAGE_SIZE, span.limit - len(items))
            page = self.call("GET", path, params={**params, "limit": want, "cursor": cursor})
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise OpsError(f"GET {path}: the answer is not a list page")
            if span.limit is not None and span.limit <= PAGE_SIZE:
                return page  # one request was enough: the API's page as it is
            items.extend(page["items"])
            cursor = page.get("next")
            if cursor is None or (span.limit is not None and len(items) >= span.limit):
                return {"items": items, "next": cursor}

    def obj(self, method: str, path: str, *, body: Json | None = None) -> Json:
        """``call`` for routes that answer a JSON object."""
        out = self.call(method, path, body=body)
        if not isinstance(out, dict):
            raise OpsError(f"{method} {path}: the answer is not a JSON object")
        return out

    # --- relays ------------------------------------------------------------
    def relays(self, span: Span) -> Json:
        return self.collect("/v1/ops/relays", {}, span)

    def drain(self, relay_id: str, reason: str, deadline_seconds: int) -> Json:
        return self.obj(
            "POST",
            f"/v1/ops/relays/{_seg(relay_id)}/drain",
            body={"reason": reason, "deadline_seconds": deadline_seconds},
        )

    def undrain(self, relay_id: str, reason: str) -> Json:
        return self.obj("POST", f"/v1/ops/relays/{_seg(relay_id)}/undrain", body={"reason": reason})

    # --- rooms -------------------------------------------------------------
    def rooms(
        self,
        span: Span,
        *,
        world: str | None = None,
        relay: str | None = None,
        min_members: int | None = None,
        max_members: int | None = None,
    ) -> Json:
        params: dict[str, object] = {
            "world": world,
            "relay": relay,
            "min_members": min_members,
            "max_members": max_members,
        }
        return self.collect("/v1/ops/rooms", params, span)

    def members(self, room_id: str, span: Span) -> Json:
        return self.collect(f"/v1/ops/rooms/{_seg(room_id)}/members", {}, span)

    def room_state(self, room_id: str) -> Json:
        return self.obj("GET", f"/v1/ops/rooms/{_seg(room_id)}/state")

    def close_room(self, room_id: str, reason: str) -> Json:
        return self.obj("POST", f"/v1/ops/rooms/{_seg(room_id)}/close", body={"reason": reason})

    # --- users and moderation ----------------------------------------------
    def users(
        self,
        span: Span,
        *,
        name: str | None = None,
        device: str | None = None,
        identity: str | None = None,
    ) -> Json:
        params: dict[str, object] = {"name": name, "device": device, "identity": identity}
        return self.collect("/v1/ops/users", params, span)

    def user(self, user_id: str) -> Json:
        return self.obj("GET", f"/v1/ops/users/{_seg(user_id)}")

    def sessions(self, user_id: str, span: Span) -> Json:
        return self.collect(f"/v1/ops/users/{_seg(user_id)}/sessions", {}, span)

    def kick(self, room_id: str, user_id: str, reason: str) -> Json:
        return self.obj(
            "POST",
            f"/v1/ops/rooms/{_seg(room_id)}/kick",
            body={"user_id": user_id, "reason": reason},
        )

    def mute(
        self, user_id: str, reason: str, *, room_id: str | None, duration_seconds: int
    ) -> Json:
        body: Json = {"reason": reason, "duration_seconds": duration_seconds}
        if room_id:
            body["room_id"] = room_id
        return self.obj("POST", f"/v1/ops/users/{_seg(user_id)}/mute", body=body)

    def unmute(self, user_id: str, *, room_id: str | None) -> Json:
        body: Json = {"room_id": room_id} if room_id else {}
        return self.obj("POST", f"/v1/ops/users/{_seg(user_id)}/unmute", body=body)

    def ban(self, user_id: str, reason: str, duration_seconds: int) -> Json | None:
        """The kick command sent to the user's room, or None when not in one."""
        out = self.call(
            "POST",
            f"/v1/ops/users/{_seg(user_id)}/ban",
            body={"reason": reason, "duration_seconds": duration_seconds},
        )
        if out is not None and not isinstance(out, dict):
            raise OpsError("POST ban: the answer is not a JSON object or null")
        return out

    def unban(self, user_id: str) -> None:
        self.call("DELETE", f"/v1/ops/users/{_seg(user_id)}/ban")

    def bans(self, span: Span, *, ended: bool = False) -> Json:
        return self.collect("/v1/ops/bans", {"ended": ended or None}, span)

    # --- broadcasts and commands -------------------------------------------
    def announce(
        self, scope: str, text: str, *, room_id: str | None = None, world_id: str | None = None
    ) -> Json:
        body: Json = {"scope": scope, "text": text}
        if room_id:
            body["room_id"] = room_id
        if world_id:
            body["world_id"] = world_id
        return self.obj("POST", "/v1/ops/announce", body=body)

    def commands(self, span: Span, *, ack: str | None = None) -> Json:
        return self.collect("/v1/ops/commands", {"ack": ack}, span)

    def command(self, command_id: str) -> Json:
        return self.obj("GET", f"/v1/ops/commands/{_seg(command_id)}")

    # --- audit -------------------------------------------------------------
    def audit(
        self,
        span: Span,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> Json:
        params: dict[str, object] = {
            "actor": actor,
            "action": action,
            "target": target,
            "since": since_ms,
            "until": until_ms,
        }
        return self.collect("/v1/ops/audit", params, span)

    # --- API keys and worlds -----------------------------------------------
    def keys(self, span: Span) -> Json:
        return self.collect("/v1/ops/keys", {}, span)

    def create_key(self, name: str, role: str) -> Json:
        return self.obj("POST", "/v1/ops/keys", body={"name": name, "role": role})

    def revoke_key(self, key_id: str) -> None:
        self.call("DELETE", f"/v1/ops/keys/{_seg(key_id)}")

    def worlds(self, span: Span) -> Json:
        return self.collect("/v1/ops/worlds", {}, span)

    def world(self, world_id: str) -> Json:
        return self.obj("GET", f"/v1/ops/worlds/{_seg(world_id)}")


def _problem(resp: httpx.Response) -> Json:
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        return body
    return {"title": resp.reason_phrase or "error", "detail": resp.text[:200] or None}
