"""A real Kubernetes control plane on loopback for tests: etcd, kube-apiserver
and kube-controller-manager, no kubelet, nothing mocked.

Contract (what tests may rely on)
---------------------------------
`running_kube_cluster(workdir)` (a context manager) and the session fixture
`kube_cluster` (tests/kube/conftest.py) yield a `KubeCluster`:

- `server`: the apiserver's URL, ``https://127.0.0.1:<free port>``.
- `ca_file`: the PEM CA that signed the serving certificate (verify TLS with it).
- `admin_kubeconfig`: a kubeconfig for user ``admin`` in group ``system:masters``
  (a client certificate): full access. `kubeconfig_for_token` gives a narrower one.
- `kubectl(*args, check=True, input=None)`: runs the built kubectl against the
  cluster as admin; returns the `subprocess.CompletedProcess[str]`; with
  `check=True` a non-zero exit raises `KubectlError` carrying stderr.
- `service_account_token(namespace, name, seconds=600)`: a bound token for an
  existing ServiceAccount from the TokenRequest API (``kubectl create token``);
  the apiserver's minimum lifetime is 600 s. The ServiceAccount must exist.
- `kubeconfig_for_token(token)`: a new kubeconfig file (same server and CA)
  that authenticates with that bearer token only: requests made through it get
  exactly the RBAC of the ServiceAccount.
- `events(namespace)`: the core/v1 Events of a namespace as dicts (``reason``,
  ``message``, ``involvedObject``...), e.g. to assert no ``FailedCreate``.

What runs: etcd (built by scripts/install_kube_tools.sh, never Debian's),
kube-apiserver with RBAC, the default admission plugins plus PodSecurity (so
``pod-security.kubernetes.io/enforce`` namespace labels are enforced), bound
service-account tokens signed by a key generated per cluster, and
``--endpoint-reconciler-type=none`` (loopback cannot be a Service endpoint);
kube-controller-manager with the controllers named in `CONTROLLERS`: the
workload controllers create Pod objects from Deployments, ReplicaSets,
StatefulSets and Jobs, service accounts and their tokens are managed, and
deleted owners and namespaces are garbage-collected. There is no kubelet and
no scheduler: Pods are created and stay Pending (unscheduled), so wait for
objects, never for readiness (no ``helm install --wait``), and a StatefulSet
needs ``podManagementPolicy: Parallel`` to get past pod-0.

Everything listens on 127.0.0.1, on free ports, with state (certificates,
etcd data, logs: ``etcd.log``, ``kube-apiserver.log``,
``kube-controller-manager.log``) under `workdir`. Start takes ~10-20 s; stop
sends SIGTERM and waits for each PID (the apiserver takes 3-10 s to exit).

Missing binaries raise `KubeToolsMissingError` (run scripts/install_kube_tools.sh);
tests must not turn that into a skip.

`python tests/kube/apiserver.py serve DIR` runs one in the foreground until
SIGTERM/SIGINT, writing DIR/ready once it serves; scripts/kube.sh wraps it.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO_ROOT = Path(__file__).resolve().parents[2]
LIB_SH = REPO_ROOT / "scripts" / "lib.sh"

# kube-controller-manager 1.37 controller names (from its --help): the ones that
# turn workloads into Pods, manage service accounts and their tokens, publish
# kube-root-ca.crt (projected token volumes mount it), keep PDB status, and
# collect what a deleted owner or namespace leaves behind.
CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "job-controller",
    "disruption-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "endpointslice-controller",
)
SERVICE_CIDR = "10.96.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class KubeToolsMissingError(RuntimeError):
    """A binary scripts/install_kube_tools.sh builds is not there."""


class KubectlError(RuntimeError):
    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(
            f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
        )
        self.result = result


def pinned_version(name: str) -> str:
    """A version pinned in scripts/lib.sh (the only place they are written)."""
    match = re.search(rf'^{name}="([^"]+)"', LIB_SH.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{name} is not pinned in {LIB_SH}")
    return match.group(1)


def tool(name: str) -> Path:
    if name == "etcd":
        path = REPO_ROOT / ".tools" / "etcd" / pinned_version("ETCD_VERSION") / "bin" / name
    else:
        path = REPO_ROOT / ".tools" / "kube" / pinned_version("KUBE_VERSION") / "bin" / name
    if not os.access(path, os.X_OK):
        raise KubeToolsMissingError(
            f"{path} is missing: build the test-cluster tools once with "
            "scripts/install_kube_tools.sh (about 12 minutes cold)"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- PKI: one CA, a serving certificate, client certificates, the SA key ------


def _pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Pki:
    directory: Path
    ca_key: ec.EllipticCurvePrivateKey = field(init=False)
    ca_cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plaza-test-ca")])
        now = datetime.datetime.now(datetime.UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_file.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    def issue(
        self,
        name: str,
        common_name: str,
        *,
        organization: str | None = None,
        server_names: tuple[str, ...] = (),
        server_ips: tuple[str, ...] = (),
    ) -> tuple[Path, Path]:
        """Writes NAME.crt/NAME.key signed by the CA; returns their paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        now = datetime.datetime.now(datetime.UTC)
        server = bool(server_names or server_ips)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            sans: list[x509.GeneralName] = [x509.DNSName(n) for n in server_names]
            sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        cert_path, key_path = self.directory / f"{name}.crt", self.directory / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_pem_key(key))
        key_path.chmod(0o600)
        return cert_path, key_path

    def service_account_keys(self) -> tuple[Path, Path]:
        """RSA key pair that signs and verifies service-account tokens."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private, public = self.directory / "sa.key", self.directory / "sa.pub"
        private.write_bytes(_pem_key(key))
        private.chmod(0o600)
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return private, public


def write_kubeconfig(
    path: Path, server: str, ca_file: Path, user: str, credentials: dict[str, str]
) -> Path:
    """A one-context kubeconfig (JSON is valid kubeconfig YAML)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "plaza-test",
                "cluster": {"server": server, "certificate-authority": str(ca_file)},
            }
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": user, "context": {"cluster": "plaza-test", "user": user}}],
        "current-context": user,
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path


# --- processes ------------------------------------------------------------------


@dataclass
class Process:
    name: str
    args: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, wait for the PID (SIGKILL after `timeout`)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _wait_https(
    url: str, context: ssl.SSLContext, process: Process, timeout: float, expect: bytes = b"ok"
) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.exited() is not None:
            raise RuntimeError(
                f"{process.name} exited with {process.exited()} before {url} answered:\n"
                + process.log_tail()
            )
        try:
            with urllib.request.urlopen(url, context=context, timeout=2) as answer:
                body: bytes = answer.read()
                if answer.status == 200 and body.strip() == expect:
                    return
                last = f"{answer.status} {body[:200]!r}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s (last: {last}):\n{process.log_tail()}")


# --- the cluster ------------------------------------------------------------------


@dataclass
class KubeCluster:
    workdir: Path
    server: str
    ca_file: Path
    admin_kubeconfig: Path
    processes: list[Process] = field(default_factory=list)

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(tool("kubectl")), "--kubeconfig", str(self.admin_kubeconfig), *args]
        result = subprocess.run(
            argv, capture_output=True, text=True, input=input, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(list(args), result)
        return result

    def service_account_token(self, namespace: str, name: str, seconds: int = 600) -> str:
        if seconds < 600:
            raise ValueError("the apiserver issues service-account tokens for 600 s or more")
        result = self.kubectl("create", "token", name, "-n", namespace, f"--duration={seconds}s")
        return result.stdout.strip()

    def kubeconfig_for_token(self, token: str) -> Path:
        path = self.workdir / "kubeconfigs" / f"token-{uuid.uuid4().hex[:12]}.kubeconfig"
        path.parent.mkdir(exist_ok=True)
        return write_kubeconfig(path, self.server, self.ca_file, "token", {"token": token})

    def events(self, namespace: str) -> list[dict[str, Any]]:
        answer = json.loads(self.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
        items: list[dict[str, Any]] = answer["items"]
        return items

    def stop(self) -> None:
        # Controller-manager first, etcd last: each one's clients go before it.
        for process in reversed(self.processes):
            process.stop()


def _check_controller_names(controller_manager: Path) -> None:
    """Every name in CONTROLLERS is one this kube-controller-manager knows."""
    help_text = subprocess.run(
        [str(controller_manager), "--help"], capture_output=True, text=True, check=False
    ).stdout
    known = set(re.findall(r"[a-z][a-z0-9-]+", help_text.split("--controllers", 1)[-1][:4000]))
    unknown = [c for c in CONTROLLERS if c not in known]
    if unknown:
        raise RuntimeError(f"kube-controller-manager --help does not list controllers {unknown}")


@contextlib.contextmanager
def running_kube_cluster(workdir: Path) -> Iterator[KubeCluster]:
    """Starts etcd, kube-apiserver and kube-controller-manager; stops them on exit."""
    etcd, apiserver, controller_manager = (
        tool("etcd"),
        tool("kube-apiserver"),
        tool("kube-controller-manager"),
    )
    tool("kubectl")
    _check_controller_names(controller_manager)
    workdir.mkdir(parents=True, exist_ok=True)
    pki = Pki(workdir / "pki")
    serving_cert, serving_key = pki.issue(
        "apiserver",
        "kube-apiserver",
        server_names=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"),
        server_ips=("127.0.0.1", str(next(ipaddress.ip_network(SERVICE_CIDR).hosts()))),
    )
    admin_cert, admin_key = pki.issue("admin", "admin", organization="system:masters")
    kcm_cert, kcm_key = pki.issue("controller-manager", "system:kube-controller-manager")
    sa_private, sa_public = pki.service_account_keys()

    etcd_port, etcd_peer_port, api_port, kcm_port = (free_port() for _ in range(4))
    server = f"https://127.0.0.1:{api_port}"
    admin_kubeconfig = write_kubeconfig(
        workdir / "admin.kubeconfig",
        server,
        pki.ca_file,
        "admin",
        {"client-certificate": str(admin_cert), "client-key": str(admin_key)},
    )
    kcm_kubeconfig = write_kubeconfig(
        workdir / "controller-manager.kubeconfig",
        server,
        pki.ca_file,
        "system:kube-controller-manager",
        {"client-certificate": str(kcm_cert), "client-key": str(kcm_key)},
    )
    cluster = KubeCluster(workdir, server, pki.ca_file, admin_kubeconfig)
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    peer_url = f"http://127.0.0.1:{etcd_peer_port}"
    try:
        etcd_process = Process(
            "etcd",
            [
                str(etcd),
                "--name=plaza-test",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=plaza-test={peer_url}",
                "--unsafe-no-fsync",  # throwaway data: skip fsync on a shared disk
                "--log-level=warn",
            ],
            workdir / "etcd.log",
        )
        cluster.processes.append(etcd_process)
        etcd_process.start()
        _wait_etcd(etcd_url + "/health", etcd_process, timeout=30)

        api_process = Process(
            "kube-apiserver",
            [
                str(apiserver),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--cert-dir={workdir / 'apiserver-certs'}",
                f"--tls-cert-file={serving_cert}",
                f"--tls-private-key-file={serving_key}",
                f"--client-ca-file={pki.ca_file}",
                "--authorization-mode=RBAC",
                "--enable-admission-plugins=PodSecurity",
                "--endpoint-reconciler-type=none",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={sa_public}",
                f"--service-account-signing-key-file={sa_private}",
                "--profiling=false",
            ],
            workdir / "kube-apiserver.log",
        )
        cluster.processes.append(api_process)
        api_process.start()
        admin_tls = ssl.create_default_context(cafile=str(pki.ca_file))
        admin_tls.load_cert_chain(str(admin_cert), str(admin_key))
        _wait_https(server + "/readyz", admin_tls, api_process, timeout=90)

        kcm_process = Process(
            "kube-controller-manager",
            [
                str(controller_manager),
                f"--kubeconfig={kcm_kubeconfig}",
                f"--authentication-kubeconfig={kcm_kubeconfig}",
                f"--authorization-kubeconfig={kcm_kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                f"--cert-dir={workdir / 'controller-manager-certs'}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={sa_private}",
                f"--root-ca-file={pki.ca_file}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                "--profiling=false",
            ],
            workdir / "kube-controller-manager.log",
        )
        cluster.processes.append(kcm_process)
        kcm_process.start()
        # /healthz is always allowed without credentials; the serving cert is
        # self-signed by the controller-manager itself.
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        _wait_https(f"https://127.0.0.1:{kcm_port}/healthz", insecure, kcm_process, timeout=60)
        _wait_default_service_account(cluster, kcm_process, timeout=60)
        yield cluster
    finally:
        cluster.stop()


def _wait_etcd(url: str, process: Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.exited() is not None:
            raise RuntimeError(f"etcd exited with {process.exited()}:\n{process.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if json.loads(answer.read()).get("health") == "true":
                    return
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"etcd not healthy after {timeout} s (last: {last}):\n{process.log_tail()}")


def _wait_default_service_account(cluster: KubeCluster, process: Process, timeout: float) -> None:
    """The serviceaccount controller runs once `default` has its ServiceAccount."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.exited() is not None:
            raise RuntimeError(
                f"kube-controller-manager exited with {process.exited()}:\n{process.log_tail()}"
            )
        if cluster.kubectl("get", "serviceaccount", "default", check=False).returncode == 0:
            return
        time.sleep(0.3)
    raise TimeoutError(f"no default ServiceAccount after {timeout} s:\n{process.log_tail()}")


def _serve(directory: Path) -> None:
    """Foreground mode for scripts/kube.sh: runs until SIGTERM or SIGINT."""
    ready = directory / "ready"
    ready.unlink(missing_ok=True)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with running_kube_cluster(directory) as cluster:
        ready.write_text(
            json.dumps({"server": cluster.server, "kubeconfig": str(cluster.admin_kubeconfig)})
        )
        print(f"ready: KUBECONFIG={cluster.admin_kubeconfig} ({cluster.server})", flush=True)
        while not stopping and all(p.exited() is None for p in cluster.processes):
            time.sleep(0.5)
        ready.unlink(missing_ok=True)
        for p in cluster.processes:
            if p.exited() is not None:
                print(f"{p.name} exited with {p.exited()}:\n{p.log_tail()}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        sys.exit("usage: apiserver.py serve DIR")
    _serve(Path(sys.argv[2]).resolve())
