"""`helm install` of charts/plaza into a real kube-apiserver with
kube-controller-manager running (tests/kube/apiserver.py), in a namespace that
enforces Pod Security "restricted": the workload controllers create every relay
and control-plane Pod (no FailedCreate), every Secret a Pod refers to exists
with the key it names, the `helm test` Pod passes admission, `helm upgrade`
keeps the generated keys and the live relay count (lookup against the real
server), the chart's ServiceAccount may scale the relays and read no Secret,
and `helm uninstall` leaves nothing of the release behind.

No kubelet runs here, so Pods stay Pending: nothing waits for readiness (no
`helm install --wait`, no `helm test` run)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .apiserver import KubeCluster

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "plaza"
HELM = REPO_ROOT / ".tools" / "bin" / "helm"
RELEASE = "plaza"
RELAYS, CONTROLS = 3, 2
#: What an operator sets: the backends (stored by the chart in Secrets), the
#: relay domain, and the autoscaler (so the chart's ServiceAccount and Role exist).
VALUES = [
    "--set=redis.url=redis://redis.data.svc:6379/0",
    "--set=mongo.url=mongodb://mongo.data.svc:27017/",
    "--set=relay.publicDomain=relays.plaza.test",
    f"--set=relay.replicas={RELAYS}",
    f"--set=control.replicas={CONTROLS}",
    "--set=autoscaler.enabled=true",
    "--set=autoscaler.minRelays=1",
    "--set=autoscaler.maxRelays=5",
]
INSTANCE = f"app.kubernetes.io/instance={RELEASE}"

Obj = dict[str, Any]


@dataclass
class Release:
    cluster: KubeCluster
    namespace: str
    helm: Callable[..., subprocess.CompletedProcess[str]]

    def get(self, kind: str, selector: str = INSTANCE) -> list[Obj]:
        out = self.cluster.kubectl("get", kind, "-n", self.namespace, "-l", selector, "-o", "json")
        items: list[Obj] = json.loads(out.stdout)["items"]
        return items

    def one(self, kind: str, name: str) -> Obj:
        out = self.cluster.kubectl("get", kind, name, "-n", self.namespace, "-o", "json")
        obj: Obj = json.loads(out.stdout)
        return obj


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout} s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def release(
    kube_cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Release]:
    if not os.access(HELM, os.X_OK):
        raise RuntimeError(f"{HELM} is missing: run scripts/bootstrap.sh")
    home = tmp_path_factory.mktemp("helm-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env |= {
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(kube_cluster.admin_kubeconfig),
    }
    namespace = f"helm-{uuid.uuid4().hex[:8]}"

    def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(HELM), *args, "--namespace", namespace],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
        return result

    kube_cluster.kubectl("create", "namespace", namespace)
    kube_cluster.kubectl(
        "label",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    )
    helm("install", RELEASE, str(CHART), *VALUES)
    try:
        yield Release(kube_cluster, namespace, helm)
    finally:
        helm("uninstall", RELEASE, "--wait", "--timeout=60s", check=False)
        kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _pods_of(release: Release, component: str) -> list[Obj]:
    return release.get("pods", f"{INSTANCE},app.kubernetes.io/component={component}")


def test_controllers_create_every_pod_without_failed_creates(release: Release) -> None:
    wait_for(
        f"{RELAYS} relay pods and {CONTROLS} control pods",
        lambda: (
            len(_pods_of(release, "relay")) == RELAYS
            and len(_pods_of(release, "control")) == CONTROLS
        ),
    )
    relays = sorted(p["metadata"]["name"] for p in _pods_of(release, "relay"))
    (statefulset,) = release.get("statefulsets")
    name = statefulset["metadata"]["name"]
    assert relays == [f"{name}-{i}" for i in range(RELAYS)]
    assert all(
        p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
        for p in _pods_of(release, "control")
    )
    # Let the controllers settle, then no object may have failed to create.
    time.sleep(2)
    failed = [
        f"{e['involvedObject']['kind']}/{e['involvedObject']['name']}: {e['message']}"
        for e in release.cluster.events(release.namespace)
        if e["reason"] in {"FailedCreate", "FailedCreatePodSandBox"} or e["type"] == "Warning"
    ]
    assert failed == []


def _secret_refs(pod: Obj) -> set[tuple[str, str | None]]:
    """(secret, key) pairs a Pod needs: env, envFrom and volumes (key None = whole)."""
    refs: set[tuple[str, str | None]] = set()
    spec = pod["spec"]
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        for env in c.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                refs.add((ref["name"], ref["key"]))
        for source in c.get("envFrom", []):
            ref = source.get("secretRef")
            if ref and not ref.get("optional"):
                refs.add((ref["name"], None))
    for volume in spec.get("volumes", []):
        secret = volume.get("secret")
        if secret and not secret.get("optional"):
            refs.add((secret["secretName"], None))
            refs |= {(secret["secretName"], item["key"]) for item in secret.get("items", [])}
    return refs


def test_every_secret_a_pod_needs_exists(release: Release) -> None:
    pods = release.get("pods")
    assert pods
    secrets = {s["metadata"]["name"]: s.get("data", {}) for s in release.get("secrets", "")}
    for pod in pods:
        for name, key in _secret_refs(pod):
            assert name in secrets, f"{pod['metadata']['name']} needs missing Secret {name}"
            if key is not None:
                assert key in secrets[name], f"{pod['metadata']['name']} needs {name}[{key}]"


def test_helm_test_pod_is_admitted(release: Release) -> None:
    hooks = release.helm("get", "hooks", RELEASE).stdout
    assert "helm.sh/hook: test" in hooks
    # Server-side dry run: the apiserver runs admission (PodSecurity restricted)
    # on the hook Pod exactly as `helm test` would create it.
    result = release.cluster.kubectl(
        "create", "--dry-run=server", "-n", release.namespace, "-f", "-", "-o", "json", input=hooks
    )
    created = json.loads(result.stdout)
    kinds = [i["kind"] for i in created.get("items", [created])]
    assert "Pod" in kinds
    assert "would violate PodSecurity" not in result.stderr


def _keys(release: Release) -> dict[str, str]:
    (secret,) = [s for s in release.get("secrets") if s["metadata"]["name"].endswith("-keys")]
    data: dict[str, str] = secret["data"]
    return data


def test_upgrade_keeps_generated_keys_and_live_relay_count(release: Release) -> None:
    keys = _keys(release)
    session = base64.b64decode(keys["session-secret"])
    assert len(session) >= 32
    assert any(k.startswith("ed25519-") and k.endswith(".pem") for k in keys)
    (statefulset,) = release.get("statefulsets")
    name = statefulset["metadata"]["name"]
    # As the autoscaler would: through the scale subresource.
    release.cluster.kubectl(
        "scale", "statefulset", name, "-n", release.namespace, f"--replicas={RELAYS + 1}"
    )
    release.helm("upgrade", RELEASE, str(CHART), *VALUES)
    assert _keys(release) == keys, "helm upgrade replaced the generated keys"
    assert release.one("statefulset", name)["spec"]["replicas"] == RELAYS + 1
    wait_for("the extra relay pod", lambda: len(_pods_of(release, "relay")) == RELAYS + 1)


def test_chart_service_account_can_scale_relays_and_read_no_secret(release: Release) -> None:
    (statefulset,) = release.get("statefulsets")
    name = statefulset["metadata"]["name"]
    accounts = [a["metadata"]["name"] for a in release.get("serviceaccounts")]
    assert accounts, "the chart created no ServiceAccount"
    (account,) = [a for a in accounts if a.endswith("-control")] or accounts
    token = release.cluster.service_account_token(release.namespace, account)
    kubeconfig = release.cluster.kubeconfig_for_token(token)

    def can(*args: str) -> bool:
        out = release.cluster.kubectl(
            "--kubeconfig",
            str(kubeconfig),
            "auth",
            "can-i",
            "-n",
            release.namespace,
            *args,
            check=False,
        )
        return out.stdout.strip() == "yes"

    assert can("patch", f"statefulsets.apps/{name}", "--subresource=scale")
    assert can("get", f"statefulsets.apps/{name}")
    assert not can("list", "secrets")
    assert not can("delete", "pods")
    assert not can("patch", "statefulsets.apps/other", "--subresource=scale")


def test_uninstall_removes_the_release(release: Release) -> None:
    release.helm("uninstall", RELEASE, "--wait", "--timeout=60s")

    def leftovers() -> list[str]:
        out = release.cluster.kubectl(
            "get",
            "all,secrets,configmaps,serviceaccounts,roles,rolebindings,ingresses,"
            "networkpolicies,poddisruptionbudgets,leases",
            "-n",
            release.namespace,
            "-l",
            INSTANCE,
            "-o",
            "name",
        )
        return out.stdout.split()

    # Pods go once the garbage collector sees their StatefulSet/ReplicaSet gone.
    try:
        wait_for("the release's objects to go", lambda: not leftovers(), timeout=60)
    except TimeoutError:
        pytest.fail(f"left behind after helm uninstall: {leftovers()}")
    assert release.helm("status", RELEASE, check=False).returncode != 0
