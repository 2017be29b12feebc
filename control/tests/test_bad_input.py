"""Hostile and careless requests at every route: a 4xx problem, never a 5xx.

The routes are enumerated from the app's own route table, so a new route is
covered the day it is added (``test_route_table_covers_the_openapi_schema``
holds the table to the served schema). Requests go through the real app and its
lifespan (Redis, FerretDB), authenticated (admin key and player session) and
not. Every refusal must be RFC 9457 ``application/problem+json`` with a type the
docs list (``docs/control.md``, "Errors"); on a route that takes a JSON body the
status is exact: 400 ``invalid-input`` for anything that is not that body, 413
``too-large`` over the body limit, 415 ``unsupported-media-type`` for a body
sent as anything but JSON (unauthenticated, 401 may come first)."""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar, get
from litestar.exceptions import (
    ClientException,
    HTTPException,
    InternalServerException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ServiceUnavailableException,
    TooManyRequestsException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

import plaza_control
from plaza_control.app import MAX_BODY_BYTES, create_app
from plaza_control.errors import PlazaError
from plaza_control.keyspace import Keyspace
from plaza_control.models import Role
from plaza_control.routes import problems
from plaza_control.settings import Settings

from .conftest import cleanup, make_settings
from .helpers import REPO, make_api_key, relay, session_token, user_id, write_heartbeat

EXAMPLES = int(os.environ.get("PLAZA_BAD_INPUT_EXAMPLES", "300"))
JSON = "application/json"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Path parameter values by name; a parameter with a new name gets "x1".
PATH_VALUES = {
    "user_id": user_id(1),
    "room_id": "lobby.1a2b3c4d5e6f",
    "relay_id": "relay-a",
    "world_id": "lobby",
    "command_id": "c_0123456789",
    "path": "openapi.json",
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    template: str
    #: The JSON body type; None for a handler that reads no body.
    body: type[msgspec.Struct] | None
    limit: int
    allowed: frozenset[str]

    @property
    def fields(self) -> tuple[str, ...]:
        if self.body is None:
            return ()
        return tuple(f.encode_name for f in msgspec.structs.fields(self.body))

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def endpoints(app: Litestar) -> list[Endpoint]:
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = route.path_format
        for name in route.path_parameters:
            path = path.replace("{" + name + "}", PATH_VALUES.get(name, "x1"))
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                out.append(
                    Endpoint(
                        method=method,
                        path=path,
                        template=route.path_format,
                        body=data.annotation if data is not None else None,
                        limit=handler.resolve_request_max_body_size() or 0,
                        allowed=frozenset(route.methods),
                    )
                )
    # A route's handlers come from a set: sort for stable test ids and examples.
    return sorted(out, key=lambda e: (e.template, e.method))


#: Built without I/O (create_app opens nothing); the served app has the same routes.
ENDPOINTS = endpoints(create_app(Settings(), background=False))
BODY_ENDPOINTS = [e for e in ENDPOINTS if e.body is not None]
PATHS = sorted({(e.path, e.allowed) for e in ENDPOINTS}, key=lambda p: p[0])


# -- the problem types the code can produce, and the ones the docs list --------


def _all_subclasses(cls: type[PlazaError]) -> Iterator[type[PlazaError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def code_problem_types() -> dict[str, int | None]:
    """Every problem type the code can answer, with its status (None: as raised):
    the exception tree (every module imported, so no subclass is missed) and the
    fallback for Litestar's own HTTP errors that map to no class."""
    for mod in pkgutil.walk_packages(plaza_control.__path__, "plaza_control."):
        if not mod.name.endswith("__main__"):
            importlib.import_module(mod.name)
    out: dict[str, int | None] = {}
    classes: list[type[PlazaError]] = [PlazaError, *_all_subclasses(PlazaError)]
    for cls in classes:
        if cls.over_http:
            assert out.get(cls.code, cls.status) == cls.status, cls
            out[cls.code] = cls.status
    out[problems.HTTP_ERROR] = None
    return out


def documented_problem_types() -> dict[str, str]:
    """The rows of the problem table in docs/control.md: code -> status cell."""
    text = (REPO / "docs" / "control.md").read_text()
    section = text.split("### Errors", 1)[1].split("\n#", 1)[0]
    return dict(re.findall(r"^\| `([a-z-]+)` \| ([^|]+?) \|", section, re.MULTILINE))


DOCUMENTED = documented_problem_types()


def test_docs_list_exactly_the_problem_types_the_code_produces() -> None:
    in_code = code_problem_types()
    assert set(DOCUMENTED) == set(in_code)
    for code, status in in_code.items():
        if status is not None:
            assert DOCUMENTED[code].strip() == str(status), code


def test_every_http_status_maps_to_a_documented_type() -> None:
    for status, cls in problems.HTTP_STATUS_PROBLEMS.items():
        assert cls.status == status, cls
        assert cls.code in DOCUMENTED, cls


# -- Litestar's own HTTP exceptions ---------------------------------------------


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (ClientException("bad"), 400, "invalid-input"),
        (NotAuthorizedException(), 401, "unauthenticated"),
        (PermissionDeniedException(), 403, "forbidden"),
        (NotFoundException(), 404, "not-found"),
        (MethodNotAllowedException(headers={"allow": "GET"}), 405, "method-not-allowed"),
        (RequestEntityTooLarge(), 413, "too-large"),
        (TooManyRequestsException(headers={"retry-after": "1"}), 429, "rate-limited"),
        (InternalServerException(), 500, "internal"),
        (ServiceUnavailableException(), 503, "unavailable"),
        (HTTPException(status_code=418, detail="short and stout"), 418, "http-error"),
        (HTTPException(status_code=451, detail="legal"), 451, "http-error"),
    ],
)
def test_litestar_http_exceptions_become_problems(
    exc: HTTPException, status: int, code: str
) -> None:
    @get("/raise")
    async def raising() -> None:
        raise exc

    app = Litestar([raising], exception_handlers=problems.EXCEPTION_HANDLERS)
    with TestClient(app) as c:
        resp = c.get("/raise")
    body = check_problem(resp, "/raise", {status})
    assert body["type"] == f"urn:plaza:problem:{code}"
    for name, value in (exc.headers or {}).items():
        assert resp.headers[name] == value


# -- the app, served --------------------------------------------------------------


@dataclass
class Api:
    client: TestClient[Litestar]
    auth: dict[str, str]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings_ = make_settings(Path(tmp_path_factory.mktemp("bad-input")))

    async def prepare() -> str:
        r = aioredis.Redis.from_url(settings_.redis_url)
        keyspace = Keyspace(settings_.redis_prefix)
        for rid in ("relay-a", "relay-b"):
            await write_heartbeat(r, keyspace, relay(rid), ttl_ms=600_000)
        await r.aclose()
        return await make_api_key(settings_, Role.ADMIN)

    admin = asyncio.run(prepare())
    auth = {
        "X-API-Key": admin,
        "Authorization": f"Bearer {session_token(settings_, user_id(1))}",
    }
    app = create_app(settings_, background=False)
    assert [str(e) for e in endpoints(app)] == [str(e) for e in ENDPOINTS]
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield Api(c, auth)
    asyncio.run(cleanup(settings_))


def test_route_table_covers_the_openapi_schema() -> None:
    doc = create_app(Settings(), background=False).openapi_schema.to_schema()
    in_schema = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    in_table = {(e.method, e.template) for e in ENDPOINTS}
    assert in_schema <= in_table
    with_body = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if "requestBody" in op
    }
    assert with_body == {(e.method, e.template) for e in BODY_ENDPOINTS}


def check_problem(resp: httpx.Response, path: str, statuses: set[int]) -> dict[str, Any]:
    assert resp.status_code in statuses, f"{resp.status_code} not in {statuses}: {resp.text[:300]}"
    assert resp.headers["content-type"] == problems.MEDIA_TYPE, resp.headers
    body: dict[str, Any] = resp.json()
    assert body["status"] == resp.status_code
    assert isinstance(body["title"], str)
    assert isinstance(body["detail"], str)
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == path
    code = body["type"].removeprefix("urn:plaza:problem:")
    assert body["type"] == f"urn:plaza:problem:{code}"
    assert code in DOCUMENTED, code
    return body


def send(
    api: Api,
    method: str,
    path: str,
    content: bytes,
    content_type: str | None,
    authenticated: bool,
) -> httpx.Response:
    headers = dict(api.auth) if authenticated else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.request(method, path, content=content, headers=headers)


#: What a route that takes a JSON body must answer for a bad one, authenticated.
_CODE = {400: "invalid-input", 413: "too-large", 415: "unsupported-media-type"}


def check_body_answer(
    resp: httpx.Response, ep: Endpoint, expected: int, authenticated: bool
) -> None:
    # Unauthenticated, a guard may refuse before the body is read.
    statuses = {expected} if authenticated else {expected, 401}
    body = check_problem(resp, ep.path.rstrip("/") or "/", statuses)
    if resp.status_code == expected:
        assert body["type"] == f"urn:plaza:problem:{_CODE[expected]}", body


def check_any_answer(resp: httpx.Response, ep: Endpoint) -> None:
    """A route that reads no body ignores one; it still never answers 5xx, and
    every refusal is a problem."""
    assert resp.status_code < 500, f"{ep} -> {resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400:
        check_problem(resp, ep.path.rstrip("/") or "/", {resp.status_code})


# -- fixed cases: each one is a defect seen on the old code or a boundary --------

LIMIT = MAX_BODY_BYTES
DEEP = 10_000
FIXED: list[tuple[str, bytes, str | None, int]] = [
    ("invalid UTF-8 in a string", b'{"device_id": "\xff\xfe", "display_name": "x"}', JSON, 400),
    ("invalid UTF-8 in a key", b'{"\xc0\x80": 1}', JSON, 400),
    ("an encoded surrogate", b'{"world_id": "\xed\xa0\x80"}', JSON, 400),
    ("a truncated sequence", b'{"reason": "\xe2\x82"}', JSON, 400),
    ("an escaped lone surrogate", b'{"reason": "\\ud800"}', JSON, 400),
    ("bare invalid UTF-8", b"\xff", JSON, 400),
    ("deep arrays", b"[" * DEEP + b"]" * DEEP, JSON, 400),
    ("deep objects", b'{"a":' * DEEP + b"1" + b"}" * DEEP, JSON, 400),
    ("deep inside a field", b'{"reason": ' + b"[" * DEEP + b"]" * DEEP + b"}", JSON, 400),
    ("just under the recursion limit", b"[" * 990 + b"]" * 990, JSON, 400),
    ("truncated JSON", b'{"reason": ', JSON, 400),
    ("trailing garbage", b"{} x", JSON, 400),
    ("null", b"null", JSON, 400),
    ("an array", b"[]", JSON, 400),
    ("a string", b'"x"', JSON, 400),
    ("a huge number", b"1e999", JSON, 400),
    ("wrong field types", b'{"reason": [[null]], "world_id": 7, "device_id": {}}', JSON, 400),
    ("an unknown field", b'{"zz_unknown": 1}', JSON, 400),
    ("an unknown field as +json", b'{"zz_unknown": 1}', "application/vnd.plaza+json", 400),
    ("an unknown field with charset", b'{"zz_unknown": 1}', "application/json; charset=UTF-8", 400),
    ("an empty body", b"", JSON, 400),
    ("an empty body, no content type", b"", None, 400),
    ("an empty body as text/plain", b"", "text/plain", 400),
    (
        "JSON as text/plain",
        b'{"device_id": "d-0123456789", "display_name": "x"}',
        "text/plain",
        415,
    ),
    ("JSON with no content type", b"{}", None, 415),
    ("a form", b"device_id=x", "application/x-www-form-urlencoded", 415),
    ("multipart", b"--x\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x", 415),
    ("octet-stream", b"{}", "application/octet-stream", 415),
    ("JSON in latin-1", b"{}", "application/json; charset=latin-1", 415),
    ("a content type that is no media type", b"{}", "json", 415),
    ("invalid UTF-8 as text/plain", b"\xff", "text/plain", 415),
    ("over the limit", b'{"reason": "' + b"x" * LIMIT + b'"}', JSON, 413),
    ("over the limit as text/plain", b"x" * (LIMIT + 1), "text/plain", 413),
]


def test_the_limit_is_the_apps() -> None:
    assert {e.limit for e in BODY_ENDPOINTS} == {LIMIT}


@pytest.mark.parametrize("authenticated", [True, False], ids=["authenticated", "anonymous"])
@pytest.mark.parametrize(
    ("name", "content", "content_type", "expected"), FIXED, ids=[c[0] for c in FIXED]
)
def test_bad_bodies_at_every_json_route(
    api: Api,
    name: str,
    content: bytes,
    content_type: str | None,
    expected: int,
    authenticated: bool,
) -> None:
    for ep in BODY_ENDPOINTS:
        resp = send(api, ep.method, ep.path, content, content_type, authenticated)
        assert resp.status_code < 500, f"{ep} {name} -> {resp.status_code}: {resp.text[:300]}"
        check_body_answer(resp, ep, expected, authenticated)


@pytest.mark.parametrize("authenticated", [True, False], ids=["authenticated", "anonymous"])
def test_bodies_at_routes_without_one(api: Api, authenticated: bool) -> None:
    for ep in ENDPOINTS:
        if ep.body is not None:
            continue
        for _, content, content_type, _ in FIXED:
            resp = send(api, ep.method, ep.path, content, content_type, authenticated)
            check_any_answer(resp, ep)


def test_unauthenticated_join_and_guest_with_invalid_utf8_are_400(api: Api) -> None:
    """The two public entry points the issue saw answer 500 with a traceback."""
    bad = b'{"device_id": "\xff", "display_name": "x", "world_id": "\xff"}'
    for path in ("/v1/join", "/v1/auth/guest"):
        resp = api.client.post(path, content=bad, headers={"Content-Type": JSON})
        body = check_problem(resp, path, {400})
        assert body["type"] == "urn:plaza:problem:invalid-input"


def test_guest_sign_in_as_text_plain_is_415(api: Api) -> None:
    resp = api.client.post(
        "/v1/auth/guest",
        content=b'{"device_id": "dev-0123456789", "display_name": "Ann"}',
        headers={"Content-Type": "text/plain"},
    )
    body = check_problem(resp, "/v1/auth/guest", {415})
    assert body["type"] == "urn:plaza:problem:unsupported-media-type"


def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    """No Content-Length to refuse early: the limit holds on the bytes streamed."""

    def chunks() -> Iterator[bytes]:
        yield b'{"reason": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    resp = api.client.post("/v1/auth/guest", content=chunks(), headers={"Content-Type": JSON})
    assert "content-length" not in resp.request.headers
    check_problem(resp, "/v1/auth/guest", {413})


@pytest.mark.parametrize(("path", "allowed"), PATHS, ids=[p for p, _ in PATHS])
def test_wrong_methods_are_405_problems(api: Api, path: str, allowed: frozenset[str]) -> None:
    for method in set(METHODS) - allowed:
        resp = api.client.request(method, path, headers=api.auth)
        body = check_problem(resp, path.rstrip("/") or "/", {405})
        assert body["type"] == "urn:plaza:problem:method-not-allowed"
        assert set(resp.headers["allow"].replace(" ", "").split(",")) == allowed


# -- the property: random bad requests at random routes ----------------------------

INVALID_UTF8 = st.one_of(
    st.sampled_from(
        [
            b"\xff",
            b"\xfe",
            b"\x80",
            b"\xc0\x80",
            b"\xc1\xbf",
            b"\xe2\x82",
            b"\xed\xa0\x80",
            b"\xed\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\xf8\x88\x80\x80\x80",
        ]
    ),
    st.binary(min_size=1, max_size=8).filter(lambda b: not _utf8(b)),
)
JSON_TYPES = st.sampled_from(
    [JSON, "application/json; charset=utf-8", "Application/JSON", "application/problem+json"]
)
NOT_JSON_TYPES = st.one_of(
    st.sampled_from(
        [
            None,
            "text/plain",
            "text/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
            "application/msgpack",
            "application/json; charset=utf-16",
            "json",
            "",
        ]
    ),
    st.from_regex(r"[a-z]{1,8}/[a-z0-9.-]{1,12}", fullmatch=True).filter(lambda t: "json" not in t),
)
#: No body field accepts a list of lists, so these are never a valid value.
WRONG_VALUES = st.lists(st.lists(st.none() | st.booleans() | st.integers(), min_size=1), min_size=1)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_object(b: bytes) -> bool:
    try:
        return isinstance(msgspec.json.decode(b), dict)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return False


@st.composite
def bad_body(draw: st.DrawFn, ep: Endpoint) -> tuple[str, bytes, str | None, int]:
    """(kind, bytes, content type, the status a JSON route must answer)."""
    fields = list(ep.fields) or ["x"]
    kind = draw(
        st.sampled_from(
            ["random", "utf8", "deep", "huge", "wrong-type", "not-an-object", "unknown", "empty"]
        )
    )
    if kind == "huge":
        size = draw(st.integers(ep.limit + 1, ep.limit * 3))
        ctype = draw(JSON_TYPES | NOT_JSON_TYPES)
        return kind, b'{"' + fields[0].encode() + b'": "' + b"x" * size + b'"}', ctype, 413
    if kind == "empty":
        return kind, b"", draw(JSON_TYPES | NOT_JSON_TYPES), 400
    if kind == "random":
        content = draw(st.binary(min_size=1, max_size=256).filter(lambda b: not _is_object(b)))
    elif kind == "utf8":
        field = draw(st.sampled_from(fields))
        mark = draw(INVALID_UTF8)
        where = draw(st.sampled_from(["value", "key", "inside"]))
        if where == "value":
            content = b'{"' + field.encode() + b'": "' + mark + b'"}'
        elif where == "key":
            content = b'{"' + mark + b'": 1}'
        else:
            content = b'{"' + field.encode() + b'": "ab' + mark + b'cd", "zz": 1}'
    elif kind == "deep":
        depth = draw(st.sampled_from([100, 999, 1000, 3000, DEEP]) | st.integers(1, DEEP))
        opener, middle, closer = draw(
            st.sampled_from([(b"[", b"", b"]"), (b'{"a":', b"1", b"}"), (b'{"a":[', b"1", b"]}")])
        )
        nested = opener * depth + middle + closer * depth
        if draw(st.booleans()):
            nested = b'{"' + draw(st.sampled_from(fields)).encode() + b'": ' + nested + b"}"
        content = nested
    elif kind == "wrong-type":
        chosen = draw(st.lists(st.sampled_from(fields), min_size=1, unique=True))
        content = msgspec.json.encode({f: draw(WRONG_VALUES) for f in chosen})
    elif kind == "not-an-object":
        content = msgspec.json.encode(draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict))))
    else:
        extra = draw(
            st.dictionaries(
                st.text(min_size=1, max_size=12).filter(lambda k: k not in fields),
                JSON_VALUES,
                min_size=1,
                max_size=3,
            )
        )
        content = msgspec.json.encode(extra)
    if len(content) > ep.limit:
        # 10,000 levels of '{"a":[' are over the limit: the limit is checked first.
        return kind, content, draw(JSON_TYPES | NOT_JSON_TYPES), 413
    if draw(st.booleans()):
        return kind, content, draw(JSON_TYPES), 400
    return kind, content, draw(NOT_JSON_TYPES), 415


@st.composite
def bad_request(draw: st.DrawFn) -> tuple[Endpoint, str, tuple[str, bytes, str | None, int]]:
    ep = draw(st.sampled_from(ENDPOINTS))
    method = draw(st.sampled_from([ep.method, ep.method, *METHODS]))
    return ep, method, draw(bad_body(ep if ep.body is not None else BODY_ENDPOINTS[0]))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(request=bad_request(), authenticated=st.booleans())
def test_property_no_bad_request_gets_a_5xx(
    api: Api, request: tuple[Endpoint, str, tuple[str, bytes, str | None, int]], authenticated: bool
) -> None:
    ep, method, (kind, content, content_type, expected) = request
    resp = send(api, method, ep.path, content, content_type, authenticated)
    assert resp.status_code < 500, f"{method} {ep.template} {kind} -> {resp.text[:300]}"
    path = ep.path.rstrip("/") or "/"
    if method not in ep.allowed:
        check_problem(resp, path, {405})
    elif method != ep.method:
        # Another handler of the same path (a GET beside a POST): no exact answer.
        check_any_answer(resp, ep)
    elif ep.body is not None:
        check_body_answer(resp, ep, expected, authenticated)
    else:
        check_any_answer(resp, ep)
