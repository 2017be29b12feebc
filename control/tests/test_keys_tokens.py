from __future__ import annotations

import time
from pathlib import Path

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from plaza_control import signing_keys
from plaza_control.errors import ConfigError, Unauthenticated
from plaza_control.signing_keys import SigningKey
from plaza_control.tokens import SessionTokens, TicketMinter


def _ring_keys(tmp_path: Path, n: int) -> list[SigningKey]:
    for _ in range(n):
        signing_keys.generate_key_file(tmp_path)
        time.sleep(1.01)  # kids carry whole seconds
    return signing_keys.load_dir(tmp_path)


def test_key_files_are_private_pkcs8(tmp_path: Path) -> None:
    kid = signing_keys.generate_key_file(tmp_path)
    path = tmp_path / f"ed25519-{kid}.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    [loaded] = signing_keys.load_dir(tmp_path)
    assert loaded.kid == kid
    assert "PRIVATE" not in repr(loaded)


def test_rotation_activation_and_published_set(tmp_path: Path) -> None:
    ks = _ring_keys(tmp_path, 3)  # newest first
    newest, middle, oldest = ks
    # All old enough: sign with the newest, publish it and the previous one.
    ring = signing_keys.build_ring(ks, time.time() + 100, activation_seconds=20)
    assert ring.signing.kid == newest.kid
    assert [k.kid for k in ring.jwks.keys] == [newest.kid, middle.kid]
    # The newest is too young: keep signing with the middle one, publish the new one early.
    ring = signing_keys.build_ring(ks, newest.created_at + 1.5, activation_seconds=2)
    assert ring.signing.kid == middle.kid
    assert [k.kid for k in ring.jwks.keys] == [newest.kid, middle.kid, oldest.kid]


def test_no_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        signing_keys.build_ring(signing_keys.load_dir(tmp_path), time.time(), 0)


def test_ticket_claims_follow_docs_tickets_md(tmp_path: Path) -> None:
    signing_keys.generate_key_file(tmp_path)
    ring = signing_keys.build_ring(signing_keys.load_dir(tmp_path), time.time(), 0)
    minter = TicketMinter(lambda: ring, "plaza-control", 30)
    now = int(time.time())
    t = minter.mint(
        user_id="u_1",
        relay_id="relay-a",
        room_id="lobby.1",
        world_id="lobby",
        world_version=4,
        name="Ann",
        perms=["move", "chat"],
        now=now,
        room_lifetime=3,
        muted_until_ms=1_900_000_000_000,
        resume_session_id="s1",
    )
    header = jwt.get_unverified_header(t.token)
    assert header == {"alg": "EdDSA", "kid": ring.signing.kid, "typ": "JWT"}
    published = msgspec.json.decode(ring.jwks_json)["keys"][0]
    jwk = jwt.PyJWK.from_dict(published)
    claims = jwt.decode(
        t.token, jwk, algorithms=["EdDSA"], audience="relay-a", issuer="plaza-control"
    )
    assert claims == {
        "iss": "plaza-control",
        "sub": "u_1",
        "aud": "relay-a",
        "room": "lobby.1",
        "world": "lobby",
        "wcv": 4,
        "name": "Ann",
        "perms": ["move", "chat"],
        "iat": now,
        "exp": now + 30,
        "jti": t.jti,
        "rlt": 3,
        "mut": 1_900_000_000_000,
        "sid": "s1",
    }
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(t.token, jwk, algorithms=["EdDSA"], audience="relay-b")


def test_session_tokens() -> None:
    s = SessionTokens(b"k" * 40, "plaza-control", 900)
    token, exp = s.issue("u_1", "Ann", int(time.time()))
    claims = s.verify(token)
    assert (claims.sub, claims.name, claims.exp) == ("u_1", "Ann", exp)
    other = SessionTokens(b"x" * 40, "plaza-control", 900)
    with pytest.raises(Unauthenticated):
        other.verify(token)
    expired, _ = s.issue("u_1", "Ann", int(time.time()) - 2000)
    with pytest.raises(Unauthenticated):
        s.verify(expired)
    with pytest.raises(Unauthenticated):
        s.verify("not.a.token")


def test_session_tokens_are_standard_jwts_and_tampering_is_refused() -> None:
    secret = b"k" * 40
    s = SessionTokens(secret, "plaza-control", 900)
    token, _ = s.issue("u_1", "Ann", int(time.time()))
    claims = jwt.decode(
        token, secret, algorithms=["HS256"], audience="plaza-session", issuer="plaza-control"
    )
    assert claims["sub"] == "u_1"
    header, payload, sig = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        msgspec.json.encode({**claims, "sub": "u_2"})
    ).decode()
    none_header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    wrong_aud = jwt.encode({**claims, "aud": "relay-a"}, secret, algorithm="HS256")
    wrong_iss = jwt.encode({**claims, "iss": "evil"}, secret, algorithm="HS256")
    for bad in (
        f"{header}.{forged_payload}.{sig}",
        f"{none_header}.{payload}.",
        f"{header}.{payload}",
        f"{header}.{payload}.{sig}x",
        f"{header}.{payload}.!!!",
        wrong_aud,
        wrong_iss,
        "é.é.é",
    ):
        with pytest.raises(Unauthenticated):
            s.verify(bad)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2048))
def test_signatures_are_ed25519_of_the_key(data: bytes) -> None:
    """SigningKey.sign (libsodium) gives the bytes cryptography's own Ed25519 gives
    (the scheme is deterministic), and they verify with the published key."""
    key = _ONE_KEY
    sig = key.sign(data)
    assert sig == key.private_key.sign(data)
    key.private_key.public_key().verify(sig, data)


_ONE_KEY = SigningKey("k1", Ed25519PrivateKey.generate(), 0.0)
