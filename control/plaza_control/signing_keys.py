"""Ed25519 ticket-signing keys: files, rotation, JWKS.

Key files live in one directory as ``ed25519-<kid>.pem`` (PKCS#8 PEM, mode 0600).
A kid starts with its UTC creation time (``k20261128T073700Z-1a2b3c``), so kids
sort by age. Rotation contract (docs/control.md):

- the *signing* key is the newest key at least ``activation_seconds`` old (or the
  newest key when none is that old), so every process has re-read the directory
  and published a new key before anyone signs with it;
- the JWKS publishes keys newer than the signing key (pending), the signing key,
  and the one before it (previous), which outlives any ticket signed with it.

Private key material is never logged or put in an exception message.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import secrets
from pathlib import Path

import msgspec
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plaza_control.errors import ConfigError

_KID_RE = re.compile(r"^k(\d{8}T\d{6}Z)-[0-9a-f]{6}$")
_FILE_RE = re.compile(r"^ed25519-(k\d{8}T\d{6}Z-[0-9a-f]{6})\.pem$")
SESSION_SECRET_FILE = "session.secret"  # noqa: S105 - a file name


class Jwk(msgspec.Struct, frozen=True):
    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class Jwks(msgspec.Struct, frozen=True):
    keys: list[Jwk]


class SigningKey:
    """One Ed25519 key pair with its kid and creation time (Unix seconds)."""

    __slots__ = ("_signer", "created_at", "kid", "private_key")

    def __init__(self, kid: str, private_key: Ed25519PrivateKey, created_at: float) -> None:
        self.kid = kid
        self.private_key = private_key
        self.created_at = created_at
        # Signing goes through libsodium (PyNaCl): about half of OpenSSL's cost
        # per signature here, and Ed25519 is deterministic, so the bytes are the
        # same either way (tested). Keys are still loaded and stored by
        # ``cryptography``.
        self._signer = nacl.signing.SigningKey(private_key.private_bytes_raw())

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._signer.sign(data).signature

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"

    def jwk(self) -> Jwk:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return Jwk(kty="OKP", crv="Ed25519", x=x, kid=self.kid, alg="EdDSA", use="sig")


class KeyRing:
    """The keys a process signs with and publishes. Immutable; reload builds a new one."""

    def __init__(self, signing: SigningKey, published: list[SigningKey]) -> None:
        self.signing = signing
        self.published = published
        self.jwks = Jwks(keys=[k.jwk() for k in published])
        self.jwks_json = msgspec.json.encode(self.jwks)


def new_kid(now: dt.datetime | None = None) -> str:
    t = now or dt.datetime.now(dt.UTC)
    return f"k{t.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def kid_time(kid: str) -> float:
    m = _KID_RE.match(kid)
    if m is None:
        return 0.0
    return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()


def generate_key_file(key_dir: Path) -> str:
    """Write a new key file and return its kid. The directory is created 0700."""
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    kid = new_kid()
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = key_dir / f"ed25519-{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return kid


def _load_pem(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: not a PKCS#8 PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{where}: not an Ed25519 key")
    return key


def load_dir(key_dir: Path) -> list[SigningKey]:
    """All keys in ``key_dir``, newest first. Files with other names are ignored."""
    keys: list[SigningKey] = []
    if not key_dir.is_dir():
        return keys
    for path in key_dir.iterdir():
        m = _FILE_RE.match(path.name)
        if m is None:
            continue
        kid = m.group(1)
        keys.append(SigningKey(kid, _load_pem(path.read_bytes(), path.name), kid_time(kid)))
    keys.sort(key=lambda k: k.kid, reverse=True)
    return keys


def build_ring(keys: list[SigningKey], now: float, activation_seconds: int) -> KeyRing:
    """Pick the signing key and the published set from ``keys`` (newest first)."""
    if not keys:
        raise ConfigError(
            "no signing key: run `plaza-control gen-signing-key` or set PLAZA_SIGNING_KEY_PEM"
        )
    idx = next((i for i, k in enumerate(keys) if now - k.created_at >= activation_seconds), 0)
    return KeyRing(keys[idx], keys[: idx + 2])


def ring_from_env(pem: str, kid: str, previous_pem: str, previous_kid: str) -> KeyRing:
    if not kid:
        raise ConfigError("PLAZA_SIGNING_KEY_ID is required with PLAZA_SIGNING_KEY_PEM")
    current = SigningKey(kid, _load_pem(pem.encode(), "PLAZA_SIGNING_KEY_PEM"), 0.0)
    published = [current]
    if previous_pem:
        if not previous_kid:
            raise ConfigError("PLAZA_PREVIOUS_SIGNING_KEY_ID is required with its PEM")
        published.append(
            SigningKey(
                previous_kid,
                _load_pem(previous_pem.encode(), "PLAZA_PREVIOUS_SIGNING_KEY_PEM"),
                0.0,
            )
        )
    return KeyRing(current, published)


def session_secret(key_dir: Path, configured: str) -> bytes:
    """The HMAC secret of session tokens: configured, or ``key_dir/session.secret``
    (created once with O_EXCL, so concurrent first starts agree on one secret)."""
    if configured:
        if len(configured) < 32:
            raise ConfigError("PLAZA_SESSION_SECRET must be at least 32 characters")
        return configured.encode()
    path = key_dir / SESSION_SECRET_FILE
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes().strip()
        if len(data) < 32:
            raise ConfigError(f"{path.name} is too short") from None
        return data
    data = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return data
