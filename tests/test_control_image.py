"""What control/Dockerfile runs, run here: the files its COPY lines take, installed
with the same `uv sync --frozen --no-dev --no-editable` into an empty prefix, then
`plaza-control serve` started from that prefix as the image's user (65532) with
nothing writable but a private /tmp: the prefix, the working directory and the
key dir (0555, empty) are read-only, keys and the session secret come from the
environment as the chart passes them. Against a real Redis of its own, /readyz
must answer 200 and a join-path request must be served."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "control" / "Dockerfile"
IMAGE_USER = 65532
#: What control/Dockerfile copies into its build stage.
BUILD_CONTEXT = ("pyproject.toml", "uv.lock", "README.md", "control")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_dockerfile_installs_what_this_test_installs() -> None:
    text = DOCKERFILE.read_text()
    assert "uv sync --frozen --no-dev --no-editable\n" in text
    assert "COPY pyproject.toml uv.lock README.md ./" in text
    assert "COPY control/ control/" in text
    assert "USER 65532:65532" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    """A world-readable scratch root (pytest's tmp dirs are 0700 to others)."""
    path = Path(tempfile.mkdtemp(prefix="plaza-control-image-"))
    path.chmod(0o755)
    yield path
    for sub in [path, *path.rglob("*")]:  # the prefix was made read-only
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def prefix(root: Path) -> Path:
    src, prefix = root / "src", root / "opt-plaza"
    src.mkdir()
    for name in BUILD_CONTEXT:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                src / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", "tests"),
            )
        else:
            shutil.copy2(source, src / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env |= {
        "UV_PROJECT_ENVIRONMENT": str(prefix),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_COMPILE_BYTECODE": "1",
        "UV_LINK_MODE": "copy",
    }
    uv = shutil.which("uv")
    assert uv is not None, "uv is not on PATH (source scripts/lib.sh)"
    # As the image's UV_PYTHON: a system interpreter the image user can run
    # (not one under root's home, such as pyenv's).
    python = shutil.which("python3.11", path="/usr/local/bin:/usr/bin:/bin")
    assert python is not None, "no system python3.11 in /usr/local/bin, /usr/bin or /bin"
    subprocess.run(
        [uv, "sync", "--frozen", "--no-dev", "--no-editable", "--python", python, "-q"],
        cwd=src,
        env=env,
        check=True,
        timeout=600,
    )
    # The image holds the installed prefix only, not the sources.
    shutil.rmtree(src)
    for path in [prefix, *prefix.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    return prefix


def test_prefix_has_no_dev_tools_and_no_sources(prefix: Path) -> None:
    bins = {p.name for p in (prefix / "bin").iterdir()}
    assert {"plaza-control", "plaza-ops"} <= bins
    assert not {"pytest", "ruff", "mypy"} & bins
    site = next(prefix.glob("lib/python3.11/site-packages"))
    assert (site / "plaza_control" / "__init__.py").is_file()
    assert not list(site.glob("*.pth")), "the project must be installed, not linked (editable)"
    assert list((site / "plaza_control" / "redis_scripts").glob("*.lua"))


@pytest.fixture(scope="module")
def redis_url(root: Path) -> Iterator[str]:
    port = free_port()
    data = root / "redis"
    data.mkdir()
    with (root / "redis.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(data),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _as_image_user() -> list[str]:
    """Root ignores file modes: run as the image's uid so read-only means read-only."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is needed to drop root"
    return [setpriv, f"--reuid={IMAGE_USER}", f"--regid={IMAGE_USER}", "--clear-groups"]


def test_app_serves_from_the_prefix_with_a_read_only_filesystem(
    root: Path, prefix: Path, redis_url: str
) -> None:
    keys = root / "keys"  # the chart's key dir when keys come from a Secret: nothing to write
    keys.mkdir()
    keys.chmod(0o555)
    workdir = root / "workdir"
    workdir.mkdir()
    workdir.chmod(0o555)
    tmp = root / "tmp"  # the pod's emptyDir at /tmp: the only writable place
    tmp.mkdir()
    if os.geteuid() == 0:
        os.chown(tmp, IMAGE_USER, IMAGE_USER)
    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    port = free_port()
    env = {
        "PATH": f"{prefix / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PLAZA_HOST": "127.0.0.1",
        "PLAZA_PORT": str(port),
        "PLAZA_REDIS_URL": redis_url,
        # MongoDB is not needed to be ready (joins use Redis only); when the
        # suite's FerretDB is up, health reports it as such.
        "PLAZA_MONGO_URL": os.environ.get("PLAZA_MONGO_URL", "mongodb://127.0.0.1:1/"),
        "PLAZA_MONGO_DB": f"image_{port}",
        "PLAZA_MONGO_TIMEOUT_MS": "1000",
        "PLAZA_KEY_DIR": str(keys),
        "PLAZA_SIGNING_KEY_PEM": pem,
        "PLAZA_SIGNING_KEY_ID": "k20260101T000000Z-abcdef",
        "PLAZA_SESSION_SECRET": "s" * 48,
    }
    log = root / "control.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_as_image_user(), str(prefix / "bin" / "plaza-control"), "serve"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"{base}/readyz", timeout=2).status_code
            except httpx.HTTPError:
                status = 0
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200, f"/readyz never answered 200:\n{log.read_text()[-3000:]}"
        jwks = httpx.get(f"{base}/.well-known/jwks.json", timeout=5)
        assert jwks.status_code == 200, jwks.text
        assert [k["kid"] for k in jwks.json()["keys"]] == ["k20260101T000000Z-abcdef"]
        assert list(keys.iterdir()) == []
        assert list(workdir.iterdir()) == []
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
