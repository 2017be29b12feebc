"""The Helm chart, rendered by real helm: its helm-unittest suites pass, every
object validates against the Kubernetes schemas of the oldest (1.29) and newest
(1.37) supported versions, the URL each relay advertises is the one its route
serves, the generated keys load in the control plane's own loader, and every
pod meets Pod Security "restricted"."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml  # type: ignore[import-untyped]

from plaza_control import signing_keys
from plaza_control.settings import Settings
from system.cluster import build_relay, free_port, wait_http

REPO_ROOT = Path(__file__).resolve().parent.parent
CHART = REPO_ROOT / "charts" / "plaza"
HELM = REPO_ROOT / ".tools" / "bin" / "helm"
HELM_PLUGINS = REPO_ROOT / ".tools" / "helm-plugins"
VALIDATE = REPO_ROOT / ".venv" / "bin" / "kubernetes-validate"
OLDEST, NEWEST = "1.29.0", "1.37.0"

Manifest = dict[str, Any]

# Value sets that together render every template.
VALUE_SETS: dict[str, list[str]] = {
    "defaults": [],
    "everything": [
        "--set=autoscaler.enabled=true",
        "--set=autoscaler.maxRelays=4",
        "--set=control.ingress.enabled=true",
        "--set=relay.ingress.className=nginx",
        "--set=imagePullSecrets[0].name=regcred",
        "--set=priorityClassName=plaza",
        "--api-versions=monitoring.coreos.com/v1",
        "--api-versions=gateway.networking.k8s.io/v1",
        "--set=relay.gateway.enabled=true",
        "--set=relay.gateway.parentRefs[0].name=public",
        "--set=networkPolicy.egress.enabled=true",
        "--set=networkPolicy.egress.controlExtraRules[0].to[0].ipBlock.cidr=0.0.0.0/0",
        "--set=networkPolicy.egress.controlExtraRules[0].ports[0].port=443",
    ],
    "existing-secrets": [
        "--set=control.keys.existingSecret=my-keys",
        "--set=redis.url=",
        "--set=redis.existingSecret=my-redis",
        "--set=mongo.url=",
        "--set=mongo.existingSecret=my-mongo",
        "--set=networkPolicy.enabled=false",
        "--set=relay.ingress.tls.enabled=false",
        "--set=relay.publicScheme=ws",
    ],
}


@pytest.fixture(scope="module")
def helm() -> str:
    found = str(HELM) if HELM.exists() else shutil.which("helm")
    assert found, "helm not installed: run scripts/bootstrap.sh"
    return found


def render(helm: str, *args: str, kube_version: str = NEWEST) -> str:
    result = subprocess.run(
        [
            helm,
            "template",
            "demo",
            str(CHART),
            "--namespace",
            "plaza",
            "--kube-version",
            kube_version,
            *args,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def manifests(text: str) -> list[Manifest]:
    return [d for d in yaml.safe_load_all(text) if d]


def by_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = [d for d in by_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def test_helm_unittest_suites_pass(helm: str) -> None:
    plugins = Path(os.environ.get("HELM_PLUGINS") or HELM_PLUGINS)
    plugin = plugins / "unittest" / "plugin.yaml"
    assert plugin.exists(), (
        f"helm-unittest missing at {plugin.parent}: run scripts/install_kube_tools.sh"
    )
    env = {**os.environ, "HELM_PLUGINS": str(plugins)}
    with tempfile.TemporaryDirectory() as scratch:
        # helm-unittest writes tests/__snapshot__/ next to the suites; keep the
        # tree clean by running on a copy.
        chart = Path(scratch) / "plaza"
        shutil.copytree(CHART, chart)
        result = subprocess.run(
            [helm, "unittest", "--color=false", str(chart)],
            capture_output=True,
            text=True,
            env=env,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    suites = re.search(r"Test Suites:\s+(\d+) passed, (\d+) total", result.stdout)
    assert suites
    assert suites.group(1) == suites.group(2)
    assert int(suites.group(2)) >= 9


@pytest.mark.parametrize("kube_version", [OLDEST, NEWEST])
@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_renders_valid_objects(helm: str, values: str, kube_version: str) -> None:
    """kubernetes-validate --strict (unknown fields fail) against the version's
    schemas; the Prometheus Operator's and the Gateway API's kinds have no
    schema there and are checked by the unittest suites instead."""
    text = render(helm, *VALUE_SETS[values], kube_version=kube_version)
    docs = manifests(text)
    crds = ("monitoring.coreos.com/", "gateway.networking.k8s.io/")
    builtin = [d for d in docs if not d["apiVersion"].startswith(crds)]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as out:
        yaml.safe_dump_all(builtin, out)
        out.flush()
        result = subprocess.run(
            [str(VALIDATE), "--strict", "--quiet", "-k", kube_version, out.name],
            capture_output=True,
            text=True,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(builtin) >= 12


def test_refuses_kubernetes_older_than_supported(helm: str) -> None:
    result = subprocess.run(
        [helm, "template", "demo", str(CHART), "--kube-version", "1.28.9"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "kubeVersion" in result.stderr


def test_schema_refuses_a_string_replica_count(helm: str) -> None:
    result = subprocess.run(
        [
            helm,
            "template",
            "demo",
            str(CHART),
            "--kube-version",
            NEWEST,
            "--set",
            "relay.replicas=three",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "/relay/replicas" in result.stderr
    assert "want integer" in result.stderr


def _pod_labels(statefulset: Manifest, ordinal: int) -> dict[str, str]:
    """The labels the StatefulSet controller gives pod <name>-<ordinal>."""
    name = f"{statefulset['metadata']['name']}-{ordinal}"
    return {
        **statefulset["spec"]["template"]["metadata"]["labels"],
        "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": str(ordinal),
    }


def _env(container: Manifest) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container["env"]}


def _expand(value: str, variables: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of an env value."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: variables[m.group(1)], value)


def _prefix_matches(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _ingress_route(ingress: Manifest, host: str, path: str) -> tuple[str, str | int]:
    """(Service, port name) the Ingress sends host+path to."""
    for rule in ingress["spec"]["rules"]:
        if rule["host"] != host:
            continue
        for candidate in rule["http"]["paths"]:
            if candidate["pathType"] == "Prefix" and _prefix_matches(candidate["path"], path):
                service = candidate["backend"]["service"]
                return service["name"], service["port"]["name"]
    raise AssertionError(f"no Ingress route for {host}{path}")


def _gateway_route(routes: list[Manifest], host: str, path: str) -> tuple[str, str | int]:
    """(Service, port number) the HTTPRoutes send host+path to."""
    for route in routes:
        if host not in route["spec"]["hostnames"]:
            continue
        for rule in route["spec"]["rules"]:
            for match in rule["matches"]:
                if match["path"]["type"] == "PathPrefix" and _prefix_matches(
                    match["path"]["value"], path
                ):
                    (backend,) = rule["backendRefs"]
                    return backend["name"], backend["port"]
    raise AssertionError(f"no HTTPRoute for {host}{path}")


GATEWAY = [
    "--set=relay.gateway.enabled=true",
    "--set=relay.gateway.parentRefs[0].name=public",
    "--api-versions=gateway.networking.k8s.io/v1",
]


@pytest.mark.parametrize(
    ("args", "slots"),
    [
        ([], 2),
        (["--set=autoscaler.enabled=true", "--set=autoscaler.maxRelays=5"], 5),
        ([*GATEWAY, "--set=relay.replicas=3"], 3),
    ],
)
def test_each_relay_is_reached_at_the_url_it_advertises(
    helm: str, args: list[str], slots: int
) -> None:
    """For each ordinal: expand the URL the relay advertises, follow every
    route the chart renders for it (Ingress and, when enabled, HTTPRoute) to
    a Service and port, and check that Service selects that Pod alone, on its
    WebSocket port."""
    docs = manifests(render(helm, *args))
    sts = one(docs, "StatefulSet", "demo-plaza-relay")
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    container = sts["spec"]["template"]["spec"]["containers"][0]
    env = _env(container)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert env["PLAZA_RELAY_LISTEN"] == f"0.0.0.0:{ports['ws']}"
    ingress = one(docs, "Ingress", "demo-plaza-relay")
    tls_hosts = {h for t in ingress["spec"].get("tls", []) for h in t["hosts"]}
    routes = by_kind(docs, "HTTPRoute")
    assert len(routes) == (slots if GATEWAY[0] in args else 0)
    services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
    assert len(ingress["spec"]["rules"]) == slots
    for ordinal in range(slots):
        pod = f"demo-plaza-relay-{ordinal}"
        url = urlsplit(_expand(env["PLAZA_RELAY_PUBLIC_URL"], {"POD_NAME": pod}))
        assert _expand(env["PLAZA_RELAY_RELAY_ID"], {"POD_NAME": pod}) == pod
        assert url.scheme == "wss"
        assert url.hostname
        assert url.path == "/ws"
        assert url.hostname in tls_hosts, f"no TLS for {url.hostname}"
        backends = [_ingress_route(ingress, url.hostname, url.path)]
        if routes:
            backends.append(_gateway_route(routes, url.hostname, url.path))
        for name, port_ref in backends:
            service = services[name]
            (port,) = [p for p in service["spec"]["ports"] if port_ref in (p["name"], p["port"])]
            assert port["targetPort"] == "ws"
            selector = service["spec"]["selector"]
            matching = [
                i for i in range(slots + 3) if selector.items() <= _pod_labels(sts, i).items()
            ]
            assert matching == [ordinal], f"{name} selects pods {matching}, not {pod}"


def test_admin_listener_is_not_reachable_from_outside_the_pod(helm: str) -> None:
    """Decision 013: drain and pprof bind loopback; only the metrics listener
    (/metrics, /healthz, /readyz) is on the Pod IP, and only it is exposed."""
    docs = manifests(render(helm, "--set=control.ingress.enabled=true"))
    sts = one(docs, "StatefulSet", "demo-plaza-relay")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    env = _env(container)
    assert env["PLAZA_RELAY_ADMIN_LISTEN"] == "127.0.0.1:8200"
    assert env["PLAZA_RELAY_METRICS_LISTEN"] == "[$(POD_IP)]:8201"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "ws": 8100,
        "metrics": 8201,
    }
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "metrics", probe
    # No Service exposes the admin port (8200 or by name); only the headless
    # one exposes the metrics port, and no Ingress routes to it.
    for service in by_kind(docs, "Service"):
        for port in service["spec"]["ports"]:
            assert port["targetPort"] not in ("admin", 8200), service["metadata"]["name"]
    exposing = [
        s["metadata"]["name"]
        for s in by_kind(docs, "Service")
        if any(p["targetPort"] == "metrics" for p in s["spec"]["ports"])
    ]
    assert exposing == ["demo-plaza-relay"]
    assert one(docs, "Service", "demo-plaza-relay")["spec"]["clusterIP"] == "None"
    routed = {
        path["backend"]["service"]["name"]
        for ingress in by_kind(docs, "Ingress")
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert "demo-plaza-relay" not in routed
    policy = one(docs, "NetworkPolicy", "demo-plaza-relay")
    opened = {p["port"] for r in policy["spec"]["ingress"] for p in r["ports"]}
    assert opened == {"ws", "metrics"}
    metrics_rules = [
        r for r in policy["spec"]["ingress"] if {"port": "metrics", "protocol": "TCP"} in r["ports"]
    ]
    assert len(metrics_rules) == 1
    assert metrics_rules[0]["from"], "metrics port open to every peer"


def _pod_specs(docs: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    for d in docs:
        name = f"{d['kind']}/{d['metadata']['name']}"
        if d["kind"] == "Pod":
            yield name, d["spec"]
        elif d["kind"] in {"Deployment", "StatefulSet"}:
            yield name, d["spec"]["template"]["spec"]


def test_every_pod_is_restricted(helm: str) -> None:
    """The Pod Security "restricted" profile's checks, field by field."""
    docs = manifests(render(helm, *VALUE_SETS["everything"]))
    specs = dict(_pod_specs(docs))
    assert set(specs) == {
        "StatefulSet/demo-plaza-relay",
        "Deployment/demo-plaza-control",
        "Pod/demo-plaza-test-readyz",
    }
    for name, spec in specs.items():
        pod_ctx = spec["securityContext"]
        assert pod_ctx["runAsNonRoot"] is True, name
        assert pod_ctx["seccompProfile"]["type"] == "RuntimeDefault", name
        assert not spec.get("hostNetwork"), name
        assert not spec.get("hostPID"), name
        for volume in spec.get("volumes", []):
            assert set(volume) - {"name"} <= {"emptyDir", "secret", "configMap", "projected"}, name
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"] == {"drop": ["ALL"]}, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["runAsUser"] == 65532, name
            assert ctx["runAsGroup"] == 65532, name
            assert "hostPort" not in str(container.get("ports", "")), name
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe in container:
                    assert container[probe]["timeoutSeconds"] >= 1, f"{name} {probe}"


def test_generated_keys_load_in_the_control_plane(helm: str, tmp_path: Path) -> None:
    """The chart's Secret, laid out as its volume mount is, is a key directory
    the control plane's own loader reads without writing anything."""
    docs = manifests(render(helm))
    secret = one(docs, "Secret", "demo-plaza-keys")
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    key_files = [k for k in data if k.startswith("ed25519-")]
    assert len(key_files) == 1
    assert set(data) == {*key_files, "session-secret"}
    for name, content in data.items():
        (tmp_path / name).write_bytes(content)
    tmp_path.chmod(0o500)  # read-only, like the mounted Secret
    try:
        keys = signing_keys.load_dir(tmp_path)
        assert [f"ed25519-{k.kid}.pem" for k in keys] == key_files
        ring = signing_keys.build_ring(keys, time.time(), 180)
        assert ring.signing.kid == keys[0].kid
        assert ring.jwks.keys[0].crv == "Ed25519"
        # The kid's timestamp is the render time (UTC): activation works.
        assert abs(signing_keys.kid_time(keys[0].kid) - time.time()) < 120
        secret_value = data["session-secret"].decode()
        assert signing_keys.session_secret(tmp_path, secret_value) == secret_value.encode()
    finally:
        tmp_path.chmod(0o700)
    control = one(docs, "Deployment", "demo-plaza-control")
    env = {e["name"]: e for e in control["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PLAZA_SESSION_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "demo-plaza-keys",
        "key": "session-secret",
    }
    assert "PLAZA_SIGNING_KEY_PEM" not in env


def test_generated_secrets_differ_per_render_and_roll_the_pods(helm: str) -> None:
    """Without a cluster to look up, each render generates new keys (as
    documented for `helm template`), and the checksum follows them."""

    def keys_and_checksum() -> tuple[str, str]:
        docs = manifests(render(helm))
        secret = one(docs, "Secret", "demo-plaza-keys")["data"]["session-secret"]
        control = one(docs, "Deployment", "demo-plaza-control")
        return secret, control["spec"]["template"]["metadata"]["annotations"]["checksum/keys"]

    first, second = keys_and_checksum(), keys_and_checksum()
    assert first[0] != second[0]
    assert first[1] != second[1]


def _literal_env(
    container: Manifest, secrets: dict[str, str], pod_ip: str = "10.0.0.7"
) -> dict[str, str]:
    """A container's environment as the kubelet would give it: literal values
    expanded, secretKeyRef values from `secrets` (by key), fieldRefs sampled."""
    fields = {"metadata.name": "demo-plaza-relay-0", "status.podIP": pod_ip}
    env: dict[str, str] = {}
    for item in container["env"]:
        source = item.get("valueFrom", {})
        if "secretKeyRef" in source:
            env[item["name"]] = secrets[source["secretKeyRef"]["key"]]
        elif "fieldRef" in source:
            env[item["name"]] = fields[source["fieldRef"]["fieldPath"]]
        else:
            env[item["name"]] = _expand(item["value"], env)
    return env


_SAMPLE_SECRETS = {
    "redis-url": "redis://redis:6379/0",
    "mongo-url": "mongodb://mongo:27017/",
    "session-secret": "s" * 64,
}


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_control_plane_accepts_the_chart_environment(helm: str, values: str) -> None:
    """Every PLAZA_* variable the chart sets is a setting the control plane
    knows, and together they pass its validation."""
    docs = manifests(render(helm, *VALUE_SETS[values]))
    container = one(docs, "Deployment", "demo-plaza-control")["spec"]["template"]["spec"][
        "containers"
    ][0]
    env = _literal_env(container, _SAMPLE_SECRETS)
    known = {f"PLAZA_{name.upper()}" for name in Settings.__struct_fields__}
    assert sorted(set(env) - known) == []
    settings = Settings.from_env(env)
    assert settings.key_dir == "/var/run/plaza/keys"
    assert settings.autoscaler_statefulset == "demo-plaza-relay"
    assert settings.autoscaler_namespace == "plaza"
    assert settings.port == 8080


def _relay_flags() -> set[str]:
    source = (REPO_ROOT / "relay-go" / "internal" / "config" / "config.go").read_text()
    names = re.findall(r'fs\.\w+\([^"]*"([a-z][a-z0-9-]*)"', source)
    assert "admin-listen" in names
    assert "metrics-listen" in names
    return {"PLAZA_RELAY_" + n.upper().replace("-", "_") for n in names}


def test_relay_environment_names_real_flags(helm: str) -> None:
    docs = manifests(render(helm, *VALUE_SETS["everything"]))
    container = one(docs, "StatefulSet", "demo-plaza-relay")["spec"]["template"]["spec"][
        "containers"
    ][0]
    env = _literal_env(container, _SAMPLE_SECRETS)
    plaza = {name for name in env if name.startswith("PLAZA_")}
    assert sorted(plaza - _relay_flags()) == []
    assert env["PLAZA_RELAY_RELAY_ID"] == "demo-plaza-relay-0"
    assert env["PLAZA_RELAY_ADMIN_LISTEN"] == "127.0.0.1:8200"
    assert env["PLAZA_RELAY_METRICS_LISTEN"] == "[10.0.0.7]:8201"
    assert env["PLAZA_RELAY_PUBLIC_URL"] == "wss://demo-plaza-relay-0.relays.example.com/ws"


def test_relay_serves_each_endpoint_on_the_listener_the_chart_gives_it(
    helm: str, tmp_path: Path
) -> None:
    """The real relay binary with the chart's environment (decision 013): the
    probes and /metrics answer on the Pod IP's metrics port, which refuses
    drain and pprof; the admin port is not on the Pod IP at all, and on
    loopback serves only drain and pprof. The Pod IP is 127.0.0.2 (loopback
    too on Linux, but a different address from 127.0.0.1)."""
    port, metrics_port, admin_port = free_port(), free_port(), free_port()
    docs = manifests(
        render(
            helm,
            f"--set=relay.port={port}",
            f"--set=relay.metricsPort={metrics_port}",
            f"--set=relay.adminPort={admin_port}",
        )
    )
    container = one(docs, "StatefulSet", "demo-plaza-relay")["spec"]["template"]["spec"][
        "containers"
    ][0]
    env = _literal_env(container, _SAMPLE_SECRETS, pod_ip="127.0.0.2")
    assert env["PLAZA_RELAY_LISTEN"] == f"0.0.0.0:{port}"
    # Only what this machine cannot have: no Redis (standalone), no control
    # plane to fetch keys from (readyz stays 503), no listening on 0.0.0.0.
    del env["PLAZA_RELAY_REDIS_URL"]
    env["PLAZA_RELAY_JWKS_URL"] = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    env["PLAZA_RELAY_LISTEN"] = f"127.0.0.2:{port}"
    binary = build_relay(tmp_path)
    with (tmp_path / "relay.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(binary)], env={"PATH": os.environ["PATH"], **env}, stdout=log, stderr=log
        )
    try:
        metrics = f"http://127.0.0.2:{metrics_port}"
        wait_http(metrics + "/healthz", 30, proc)
        readyz = httpx.get(metrics + "/readyz", timeout=5)
        assert (readyz.status_code, readyz.text) == (503, "no ticket keys loaded\n")
        assert "plaza_relay_connections 0" in httpx.get(metrics + "/metrics", timeout=5).text
        assert httpx.post(metrics + "/admin/drain", timeout=5).status_code == 404
        assert httpx.get(metrics + "/debug/pprof/cmdline", timeout=5).status_code == 404
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"http://127.0.0.2:{admin_port}/admin/drain", timeout=5)
        admin = f"http://127.0.0.1:{admin_port}"
        for path in ("/metrics", "/healthz", "/readyz"):
            assert httpx.get(admin + path, timeout=5).status_code == 404, path
        assert httpx.get(admin + "/debug/pprof/cmdline", timeout=5).status_code == 200
        assert proc.poll() is None
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0, (tmp_path / "relay.log").read_text()


def test_schema_closes_every_object() -> None:
    """values.schema.json: every object with properties refuses unknown keys;
    free-form maps (labels, annotations, extraEnv) constrain their values."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and where != "/properties/global":
                extra = node.get("additionalProperties")
                if "properties" in node and extra is not False:
                    open_objects.append(where)
                if "properties" not in node and not isinstance(extra, dict):
                    open_objects.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "")
    assert open_objects == []
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values) == set(schema["properties"]) - {"global"}


def _template_labels(workload: Manifest) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"]["labels"])


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def test_every_selector_selects_its_pods_and_ports(helm: str) -> None:
    """Services, PDBs, the NetworkPolicy, topology spreads and ServiceMonitors
    select the Pods they are meant for, and every named port they use exists."""
    docs = manifests(render(helm, *VALUE_SETS["everything"]))
    relay = one(docs, "StatefulSet", "demo-plaza-relay")
    control = one(docs, "Deployment", "demo-plaza-control")
    workloads = {"relay": relay, "control": control}
    ports = {
        name: {p["name"] for p in w["spec"]["template"]["spec"]["containers"][0]["ports"]}
        for name, w in workloads.items()
    }

    def component(selector: dict[str, str]) -> str:
        hits = [n for n, w in workloads.items() if _selects(selector, _template_labels(w))]
        assert len(hits) == 1, f"{selector} selects {hits}"
        return hits[0]

    for name, w in workloads.items():
        assert component(w["spec"]["selector"]["matchLabels"]) == name
        spec = w["spec"]["template"]["spec"]
        for spread in spec["topologySpreadConstraints"]:
            assert component(spread["labelSelector"]["matchLabels"]) == name
        container = spec["containers"][0]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] in ports[name], f"{name} {probe}"
    services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
    for service in services.values():
        base = {
            k: v
            for k, v in service["spec"]["selector"].items()
            if k != "statefulset.kubernetes.io/pod-name"
        }
        target = component(base)
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports[target], service["metadata"]["name"]
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        assert (
            pdb["metadata"]["name"]
            == f"demo-plaza-{component(pdb['spec']['selector']['matchLabels'])}"
        )
    policy = one(docs, "NetworkPolicy", "demo-plaza-relay")
    assert component(policy["spec"]["podSelector"]["matchLabels"]) == "relay"
    for rule in policy["spec"]["ingress"]:
        assert {p["port"] for p in rule["ports"]} <= ports["relay"]
    # Egress: each policy selects its component; the relays' rule to the
    # control plane selects the control Pods, on the port they listen on.
    control_ports = {
        p["containerPort"] for p in control["spec"]["template"]["spec"]["containers"][0]["ports"]
    }
    for name in ("relay", "control"):
        egress = one(docs, "NetworkPolicy", f"demo-plaza-{name}-egress")
        assert egress["spec"]["policyTypes"] == ["Egress"]
        assert component(egress["spec"]["podSelector"]["matchLabels"]) == name
    relay_egress = one(docs, "NetworkPolicy", "demo-plaza-relay-egress")["spec"]["egress"]
    (to_control,) = [
        r
        for r in relay_egress
        if any("podSelector" in peer for peer in r.get("to", []))
        and not any("namespaceSelector" in peer for peer in r["to"])
    ]
    assert component(to_control["to"][0]["podSelector"]["matchLabels"]) == "control"
    assert {p["port"] for p in to_control["ports"]} == control_ports
    for ingress in by_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                names = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                assert backend["port"]["name"] in names
    for route in by_kind(docs, "HTTPRoute"):
        for rule in route["spec"]["rules"]:
            for ref in rule["backendRefs"]:
                assert ref["port"] in {p["port"] for p in services[ref["name"]]["spec"]["ports"]}
    monitors = by_kind(docs, "ServiceMonitor")
    assert len(monitors) == 2
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        (scraped,) = [s for s in services.values() if _selects(selector, s["metadata"]["labels"])]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in scraped["spec"]["ports"]}
        for label in monitor["spec"]["podTargetLabels"]:
            assert label in _template_labels(workloads[component(scraped["spec"]["selector"])])
