"""A whole Plaza on loopback for system tests: real processes, nothing mocked.

`Cluster` starts a private redis-server (its own port and data, so tests may
restart or kill it), uses the FerretDB that `scripts/test.sh` started (a
database of its own), N control plane processes and M relays wired to them,
and stops everything it started. Players are real WebSocket clients.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s (last: {last})")


def build_relay(out_dir: Path) -> Path:
    binary = out_dir / "relay"
    subprocess.run(
        ["go", "build", "-o", str(binary), "./relay-go/cmd/relay"],
        cwd=REPO_ROOT,
        check=True,
        timeout=600,
    )
    return binary


#: Event consumer settings of every cluster control plane unless a test's
#: ``control_env`` overrides them: entries a dead consumer held are claimed by a
#: live one within ~2.5 s, in batches of 8, for the failover and fault tests.
#: Not a capacity: under the soak's load (~70 events/s) batch 8 let the
#: ``control`` group fall behind; scripts/soak.py runs the defaults of
#: ``Settings`` instead (``production_events``).
FAILOVER_EVENTS = {
    "PLAZA_EVENTS_CLAIM_IDLE_MS": "2000",
    "PLAZA_EVENTS_CLAIM_INTERVAL_SECONDS": "0.5",
    "PLAZA_EVENTS_BATCH": "8",
}


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


@dataclass
class Relay:
    relay_id: str
    port: int
    admin_port: int
    process: Process

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"


@dataclass
class Control:
    port: int
    process: Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    workdir: Path
    relay_binary: Path
    mongo_url: str
    relays: list[Relay] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    redis: Process | None = None
    redis_port: int = 0
    prefix: str = "plaza:"
    mongo_db: str = ""
    admin_key: str = ""
    #: Extra environment for every control plane process (e.g. PLAZA_WEB_DIR).
    extra_control_env: dict[str, str] = field(default_factory=dict)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def control_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")}
        env.update(
            PLAZA_REDIS_URL=self.redis_url,
            PLAZA_REDIS_PREFIX=self.prefix,
            PLAZA_MONGO_URL=self.mongo_url,
            PLAZA_MONGO_DB=self.mongo_db,
            PLAZA_KEY_DIR=str(self.workdir / "keys"),
            PLAZA_SERVER="uvicorn",
            PLAZA_ACCESS_LOG="false",
            PLAZA_SWEEP_INTERVAL_SECONDS="1",
            PLAZA_JOIN_PER_IP="100000",
            PLAZA_JOIN_PER_USER="1000",
            PLAZA_SIGNIN_PER_IP="100000",
            PLAZA_SIGNIN_PER_DEVICE="1000",
            **FAILOVER_EVENTS,
        )
        env.update(self.extra_control_env)
        return env

    def control_cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(PYTHON), "-m", "plaza_control", *args],
            env=self.control_env(),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip()

    # --- Redis -----------------------------------------------------------
    def start_redis(self) -> None:
        if not self.redis_port:
            self.redis_port = free_port()
        data = self.workdir / "redis"
        data.mkdir(exist_ok=True)
        self.redis = Process(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--dir",
                str(data),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            dict(os.environ),
            self.workdir / "redis.log",
        )
        self.redis.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.stop()

    # --- control planes and relays ----------------------------------------
    def start_control(self, port: int = 0) -> Control:
        port = port or free_port()
        env = self.control_env() | {"PLAZA_PORT": str(port)}
        n = len(self.controls)
        proc = Process(
            f"control-{n}",
            [str(PYTHON), "-m", "plaza_control", "serve"],
            env,
            self.workdir / f"control-{n}.log",
        )
        proc.start()
        control = Control(port, proc)
        wait_http(f"{control.url}/readyz", 60, proc.proc)
        self.controls.append(control)
        return control

    def start_relay(self, relay_id: str | None = None, extra_args: Sequence[str] = ()) -> Relay:
        """``extra_args`` are appended to the relay's flags (a later flag wins)."""
        n = len(self.relays)
        relay_id = relay_id or f"relay-{n}"
        port, admin = free_port(), free_port()
        proc = Process(
            relay_id,
            [
                str(self.relay_binary),
                "--relay-id",
                relay_id,
                "--listen",
                f"127.0.0.1:{port}",
                "--admin-listen",
                f"127.0.0.1:{admin}",
                "--public-url",
                f"ws://127.0.0.1:{port}/ws",
                "--jwks-url",
                f"{self.controls[0].url}/.well-known/jwks.json",
                "--redis-url",
                self.redis_url,
                "--redis-prefix",
                self.prefix,
                "--heartbeat-interval",
                "500ms",
                "--drain-timeout",
                "10s",
                *extra_args,
            ],
            {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")},
            self.workdir / f"{relay_id}.log",
        )
        proc.start()
        relay = Relay(relay_id, port, admin, proc)
        wait_http(f"{relay.admin}/readyz", 30, proc.proc)
        self.relays.append(relay)
        return relay

    def wait_relays_registered(self, timeout: float = 15) -> None:
        """Until every running relay is listed live by the control plane."""
        want = {r.relay_id for r in self.relays if r.process.alive()}
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while time.monotonic() < deadline:
            try:
                resp = httpx.get(
                    f"{self.controls[0].url}/v1/ops/relays",
                    headers={"x-api-key": self.admin_key},
                    timeout=5,
                )
            except httpx.HTTPError:
                resp = None
            # 503 while the control plane itself waits for Redis is expected.
            if resp is not None and resp.status_code != 503:
                resp.raise_for_status()
                seen = {r["relay_id"] for r in resp.json()["items"] if r["state"] == "ready"}
                if want <= seen:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"relays registered: {seen}, want {want}")

    def stop(self) -> None:
        for relay in self.relays:
            relay.process.stop(timeout=15)
        for control in self.controls:
            control.process.stop(timeout=15)
        self.stop_redis()

    def logs(self) -> str:
        parts = []
        for log in sorted(self.workdir.glob("*.log")):
            text = log.read_text(errors="replace")
            parts.append(f"===== {log.name} (last 40 lines)\n" + "\n".join(text.splitlines()[-40:]))
        return "\n".join(parts)


@contextlib.contextmanager
def running_cluster(
    workdir: Path,
    relay_binary: Path,
    *,
    controls: int,
    relays: int,
    world_capacity: int = 50,
    control_env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    mongo_url = os.environ.get("PLAZA_MONGO_URL", "mongodb://127.0.0.1:27217/")
    cluster = Cluster(workdir=workdir, relay_binary=relay_binary, mongo_url=mongo_url)
    cluster.extra_control_env = dict(control_env or {})
    cluster.prefix = f"t{uuid.uuid4().hex[:8]}:"
    cluster.mongo_db = f"plaza_sys_{uuid.uuid4().hex[:10]}"
    try:
        cluster.start_redis()
        cluster.control_cli("gen-signing-key")
        cluster.control_cli(
            "create-world", "--id", "lobby", "--capacity", str(world_capacity), "--exist-ok"
        )
        cluster.admin_key = cluster.control_cli(
            "create-api-key", "--role", "admin", "--name", "system-test"
        ).splitlines()[-1]
        for _ in range(controls):
            cluster.start_control()
        for _ in range(relays):
            cluster.start_relay()
        cluster.wait_relays_registered()
        yield cluster
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()
        shutil.rmtree(workdir / "redis", ignore_errors=True)
