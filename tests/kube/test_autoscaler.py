"""The relay autoscaler against a real kube-apiserver + kube-controller-manager,
real relay processes on loopback whose ids are the StatefulSet's Pod names,
real Redis and FerretDB, and real players.

The reconciler runs in the test process, authenticated as the chart's
ServiceAccount with a TokenRequest token, so every call it makes is held to
the chart's Role (templates/autoscaler-rbac.yaml). The RBAC and the relay
StatefulSet are applied from `helm template` of the chart. There is no
kubelet: the controller creates and deletes Pod objects, and the relay
processes the test starts stand in for the Pods' containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio
from kubernetes.aio import client
from litestar.testing import AsyncTestClient

from plaza.protocol.ChatMessage import ChatMessageT
from plaza.protocol.StateChanged import StateChangedT
from plaza_control.app import create_app
from plaza_control.autoscaler import kube
from plaza_control.autoscaler.policy import Policy, ordinal_of
from plaza_control.autoscaler.reconciler import OpsDrains, Reconciler
from plaza_control.container import Services
from plaza_control.models import RelayInfo
from plaza_control.observability import Metrics
from plaza_control.settings import Settings
from system.cluster import REPO_ROOT, Cluster, build_relay, running_cluster
from system.player import Player, text

from .apiserver import KubeCluster, tool

RELEASE = "plaza"
STS = "plaza-relay"
SA = "plaza-control"
LEASE = "plaza-relay-autoscaler"
CAPACITY = 10  # --max-connections of every relay: a few players move the count


# --- the rig: one namespace, the chart's objects, relays, players ------------
def chart_manifest(namespace: str, replicas: int) -> str:
    """The chart's RBAC and relay StatefulSet, as `helm template` renders them."""
    helm = REPO_ROOT / ".tools" / "bin" / "helm"
    result = subprocess.run(
        [
            str(helm),
            "template",
            RELEASE,
            str(REPO_ROOT / "charts" / "plaza"),
            "--namespace",
            namespace,
            "--kube-version",
            "1.37.2",
            "--set",
            "autoscaler.enabled=true",
            "--set",
            f"relay.replicas={replicas}",
            "--set",
            f"autoscaler.leaseName={LEASE}",
            "--show-only",
            "templates/autoscaler-rbac.yaml",
            "--show-only",
            "templates/relay-statefulset.yaml",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


class RecordingStatefulSet(kube.RelayStatefulSet):
    """The real StatefulSet edge; each scale write also records what the relays
    above the new count held at that moment (read from Redis just before)."""

    def __init__(self, api: client.ApiClient, namespace: str, svc: Services) -> None:
        super().__init__(api, namespace, STS)
        self._svc = svc
        #: (wall ms, replicas, relay id -> (connections, seats, rooms) above it)
        self.writes: list[tuple[int, int, dict[str, tuple[int, int, int]]]] = []

    async def scale(self, replicas: int, resource_version: str) -> str:
        held = {
            r.relay_id: (r.connections, r.seats, r.rooms)
            for r in await self._svc.allocator.relays()
            if (o := ordinal_of(r.relay_id, STS)) is not None and o >= replicas
        }
        self.writes.append((int(time.time() * 1000), replicas, held))
        return await super().scale(replicas, resource_version)


@dataclass
class Rig:
    kube: KubeCluster
    namespace: str
    cluster: Cluster
    svc: Services
    sa_kubeconfig: Path
    apis: list[client.ApiClient] = field(default_factory=list)
    players: list[Player] = field(default_factory=list)

    # Kubernetes, seen as admin (not through the reconciler's identity).
    def statefulset(self) -> dict[str, Any]:
        out = self.kube.kubectl("get", "statefulset", STS, "-n", self.namespace, "-o", "json")
        obj: dict[str, Any] = json.loads(out.stdout)
        return obj

    def replicas(self) -> int:
        return int(self.statefulset()["spec"]["replicas"])

    def pods(self) -> set[str]:
        out = self.kube.kubectl("get", "pods", "-n", self.namespace, "-o", "json")
        return {
            p["metadata"]["name"]
            for p in json.loads(out.stdout)["items"]
            if not p["metadata"].get("deletionTimestamp")
        }

    def lease(self) -> dict[str, Any] | None:
        out = self.kube.kubectl(
            "get", "lease", LEASE, "-n", self.namespace, "-o", "json", check=False
        )
        return json.loads(out.stdout) if out.returncode == 0 else None

    async def wait(self, what: str, pred: Any, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not after {within}s")
            await asyncio.sleep(0.2)

    # Relays and players.
    def start_relays(self, ordinals: range) -> None:
        for o in ordinals:
            self.cluster.start_relay(f"{STS}-{o}", ["--max-connections", str(CAPACITY)])
        self.cluster.wait_relays_registered(timeout=30)

    def relay_process(self, relay_id: str) -> Any:
        return next(r.process for r in self.cluster.relays if r.relay_id == relay_id)

    async def relays(self) -> dict[str, RelayInfo]:
        return {r.relay_id: r for r in await self.svc.allocator.relays()}

    async def add_players(self, rooms: dict[str, int]) -> list[Player]:
        """Players in rooms (room id -> count), joined in that order."""
        url = self.cluster.controls[0].url
        new: list[Player] = []
        async with httpx.AsyncClient(timeout=20) as http:
            for room, n in rooms.items():
                for i in range(n):
                    p = Player(url, f"{room}-{i}")
                    await p.sign_in(http)
                    await p.join_and_connect(http, room=room)
                    new.append(p)
        self.players += new
        return new

    # The reconciler, as the chart's ServiceAccount.
    async def reconciler(
        self, policy: Policy, *, identity: str = "", dry_run: bool = False, lease_seconds: int = 4
    ) -> tuple[Reconciler, RecordingStatefulSet]:
        api = await kube.api_client(str(self.sa_kubeconfig))
        self.apis.append(api)
        sts = RecordingStatefulSet(api, self.namespace, self.svc)
        rec = Reconciler(
            statefulset=sts,
            elector=kube.LeaseElector(
                api,
                self.namespace,
                LEASE,
                identity or f"test-{uuid.uuid4().hex[:6]}",
                lease_seconds,
            ),
            relays=self.svc.allocator.relays,
            drains=OpsDrains(self.svc.ops, self.svc.allocator, relay_deadline_seconds=10),
            policy=policy,
            metrics=Metrics().autoscaler,
            dry_run=dry_run,
        )
        return rec, sts


@pytest.fixture(scope="module")
def relay_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_relay(tmp_path_factory.mktemp("relay-bin"))


@contextlib.contextmanager
def _namespace(kube_cluster: KubeCluster, replicas: int) -> Iterator[str]:
    ns = f"as-{uuid.uuid4().hex[:8]}"
    kube_cluster.kubectl("create", "namespace", ns)
    try:
        kube_cluster.kubectl("apply", "-n", ns, "-f", "-", input=chart_manifest(ns, replicas))
        yield ns
    finally:
        kube_cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@contextlib.asynccontextmanager
async def rig_context(
    kube_cluster: KubeCluster, relay_binary: Path, workdir: Path, replicas: int
) -> AsyncIterator[Rig]:
    """A namespace with the chart's objects, a Plaza (1 control plane, private
    Redis) and relays ``plaza-relay-0..replicas-1``; torn down on exit."""
    with contextlib.ExitStack() as stack:
        ns = stack.enter_context(_namespace(kube_cluster, replicas))
        os.makedirs(workdir, exist_ok=True)
        cluster = stack.enter_context(
            running_cluster(workdir, relay_binary, controls=1, relays=0, world_capacity=20)
        )
        token = kube_cluster.service_account_token(ns, SA)
        settings = Settings(
            redis_url=cluster.redis_url,
            redis_prefix=cluster.prefix,
            mongo_url=cluster.mongo_url,
            mongo_db=cluster.mongo_db,
            key_dir=str(cluster.workdir / "keys"),
            log_level="warning",
        )
        svc = Services(settings, Metrics())
        rig = Rig(kube_cluster, ns, cluster, svc, kube_cluster.kubeconfig_for_token(token))
        try:
            rig.start_relays(range(replicas))
            yield rig
        finally:
            await asyncio.gather(*(p.close() for p in rig.players), return_exceptions=True)
            for api in rig.apis:
                await api.close()  # type: ignore[no-untyped-call]
            await svc.close()


@pytest_asyncio.fixture
async def make_rig(
    kube_cluster: KubeCluster, relay_binary: Path, tmp_path: Path
) -> AsyncIterator[Any]:
    """``await make_rig(replicas)``: a ``rig_context`` torn down after the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(replicas: int) -> Rig:
            return await stack.enter_async_context(
                rig_context(kube_cluster, relay_binary, tmp_path / uuid.uuid4().hex[:8], replicas)
            )

        yield make


def policy(**kw: Any) -> Policy:
    base: dict[str, Any] = {
        "min_relays": 1,
        "max_relays": 8,
        "headroom_percent": 25,
        "stabilization_ms": 0,
        "max_concurrent_drains": 1,
        "drain_timeout_ms": 60_000,
    }
    base.update(kw)
    return Policy(**base)


async def _run_until(rec: Reconciler, done: Any, within: float, interval: float = 0.3) -> None:
    task = asyncio.create_task(rec.run(interval))
    try:
        deadline = time.monotonic() + within
        while not done():
            if task.done():
                task.result()
            if time.monotonic() > deadline:
                raise TimeoutError(f"not done after {within}s: {rec.status()}")
            await asyncio.sleep(0.2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# --- the cases ---------------------------------------------------------------
async def test_chart_role_is_minimal(make_rig: Any) -> None:
    rig: Rig = await make_rig(1)
    kubectl = str(tool("kubectl"))

    def can(*args: str) -> bool:
        out = subprocess.run(
            [
                kubectl,
                "--kubeconfig",
                str(rig.sa_kubeconfig),
                "auth",
                "can-i",
                *args,
                "-n",
                rig.namespace,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return out.stdout.strip() == "yes"

    assert can("patch", f"statefulsets/{STS}", "--subresource=scale")
    assert can("get", f"statefulsets/{STS}")
    assert can("patch", f"leases/{LEASE}")
    assert can("create", "leases")
    assert not can("patch", "statefulsets/other")
    assert not can("delete", f"statefulsets/{STS}")
    assert not can("list", "pods")
    assert not can("delete", "pods")
    assert not can("get", "secrets")
    assert not can("patch", "leases/someone-elses")


async def test_scale_up_at_once_and_the_controller_creates_the_pods(make_rig: Any) -> None:
    rig: Rig = await make_rig(1)
    await rig.wait("pod 0", lambda: rig.pods() == {f"{STS}-0"})
    # 9 players on one relay of capacity 10: 25 % headroom needs 2 relays.
    await rig.add_players({"up-a": 5, "up-b": 4})
    rec, sts = await rig.reconciler(policy(stabilization_ms=300_000))
    started = int(time.time() * 1000)
    plan = await rec.reconcile()
    assert plan is not None, rec.status().last_error
    assert plan.outcome == "scale-up"
    assert rig.replicas() == 2
    assert [w[1] for w in sts.writes] == [2]
    print(f"scale-up: pass start to replicas written {sts.writes[0][0] - started} ms")
    await rig.wait("pod 1 created", lambda: rig.pods() == {f"{STS}-0", f"{STS}-1"}, 30)
    status = rec.status()
    assert status.leader
    assert (status.current, status.wanted) == (1, 2)
    assert status.decisions[0].outcome == "scale-up"
    assert not [e for e in rig.kube.events(rig.namespace) if e.get("reason") == "FailedCreate"]


async def _players_in_rooms(rig: Rig, rooms: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Players join; the first of each room sets state and chats. Returns room ->
    (last chat sequence, state version) as its first player saw them."""
    players = await rig.add_players(rooms)
    seen: dict[str, tuple[int, int]] = {}
    for room in rooms:
        first = next(p for p in players if p.joined and p.joined.room_id == room)
        await first.set_state("door", room.encode())
        await first.chat(f"hello {room}")
        changed = await first.wait_for(lambda e: isinstance(e.message, StateChangedT))
        assert isinstance(changed.message, StateChangedT)
        assert changed.message.entry is not None
        await first.wait_for(
            lambda e, r=room: text(getattr(e.message, "text", None)) == f"hello {r}"
        )
        seen[room] = (max(c.sequence for c in first.chats()), changed.message.entry.version)
    await asyncio.sleep(0.6)  # the relays' batched snapshots reach Redis
    return seen


async def follow(p: Player, room: str, survivors: set[str], moved: dict[str, str]) -> None:
    """What a client does when its relay drains: rejoin the same room, as often
    as it takes to land on a relay that stays."""
    async with httpx.AsyncClient(timeout=20) as http:
        while True:
            await p.wait_closed(within=120)
            notice = p.disconnect_notice()
            assert notice is not None, f"{p.name}: closed ({p.close_code}), no DisconnectNotice"
            await p.join_and_connect(http, room=room, attempts=40)
            assert p.joined is not None
            moved[p.name] = p.joined.relay_id
            if p.joined.relay_id in survivors:
                return


def followers(rig: Rig, survivors: set[str], moved: dict[str, str]) -> list[asyncio.Task[None]]:
    """A follower for every player not on a surviving relay."""
    return [
        asyncio.create_task(follow(p, p.joined.room_id, survivors, moved))
        for p in rig.players
        if p.joined and p.joined.relay_id not in survivors
    ]


def _assert_room_survived(p: Player, room: str, seq: int, version: int) -> None:
    assert p.joined is not None
    assert p.joined.room_id == room
    assert p.welcome is not None
    snap = p.welcome.snapshot
    assert snap is not None
    assert snap.sequence >= seq, f"{p.name}: sequence went back {snap.sequence} < {seq}"
    door = [e for e in (snap.state or []) if text(e.key) == "door"]
    assert door, f"{p.name}: room state lost"
    assert bytes(door[0].value or []) == room.encode()
    assert door[0].version == version


async def test_scale_down_drains_the_highest_ordinals_first(make_rig: Any) -> None:
    rig: Rig = await make_rig(4)
    # 8 players, 2 per room: the rooms land on the four relays (least loaded).
    rooms = {f"down-{c}": 2 for c in "abcd"}
    seen = await _players_in_rooms(rig, rooms)
    before = {p.name: p.joined.relay_id for p in rig.players if p.joined}
    on_top = [n for n, r in before.items() if r in (f"{STS}-2", f"{STS}-3")]
    assert on_top, f"no player on the relays that go: {before}"
    moved: dict[str, str] = {}
    following = followers(rig, {f"{STS}-0", f"{STS}-1"}, moved)
    # 8 connections, capacity 10, 25 % headroom: 2 relays.
    rec, sts = await rig.reconciler(policy(max_concurrent_drains=2))
    await _run_until(rec, lambda: rig.replicas() == 2, within=90)
    await asyncio.wait_for(asyncio.gather(*following), 60)

    # Lowered once, to 2, and only when 2 and 3 held nobody.
    assert [w[1] for w in sts.writes] == [2], sts.writes
    for _, replicas, held in sts.writes:
        for relay_id, (conns, seats, rooms_held) in held.items():
            assert (conns, seats, rooms_held) == (0, 0, 0), (replicas, relay_id, held)
    drained = {r for d in rec.status().decisions for r in d.drained}
    assert drained == {f"{STS}-2", f"{STS}-3"}
    for relay_id in drained:
        assert rig.relay_process(relay_id).proc.wait(timeout=20) == 0
    assert set(moved) == set(on_top)
    assert set(moved.values()) <= {f"{STS}-0", f"{STS}-1"}
    for p in rig.players:
        assert p.joined is not None
        room = p.joined.room_id
        if p.name in moved:
            _assert_room_survived(p, room, *seen[room])
    # Chat still flows in every moved room, in sequence.
    for room in {p.joined.room_id for p in rig.players if p.joined and p.name in moved}:
        members = [p for p in rig.players if p.joined and p.joined.room_id == room]
        await members[0].chat(f"after {room}")
        for m in members:
            env = await m.wait_for(
                lambda e, r=room: text(getattr(e.message, "text", None)) == f"after {r}"
            )
            assert isinstance(env.message, ChatMessageT)
            assert env.message.sequence > seen[room][0]
    await rig.wait("pods 2 and 3 deleted", lambda: rig.pods() == {f"{STS}-0", f"{STS}-1"}, 30)
    sts_obj = rig.statefulset()
    assert not any(
        k.startswith(kube.ANNOTATION_PREFIX) for k in sts_obj["metadata"].get("annotations", {})
    )


async def test_restart_mid_scale_down_continues(make_rig: Any) -> None:
    rig: Rig = await make_rig(4)
    # One player per room, a room per relay: the load needs one relay.
    rooms = {f"rs-{c}": 1 for c in "abcd"}
    seen = await _players_in_rooms(rig, rooms)
    moved: dict[str, str] = {}
    following = followers(rig, {f"{STS}-0"}, moved)
    first, _ = await rig.reconciler(policy(), identity="first")
    plan = await first.reconcile()
    assert plan is not None, first.status().last_error
    assert plan.outcome == "scale-down-start"
    assert plan.drain == (f"{STS}-3",)
    notes = rig.statefulset()["metadata"]["annotations"]
    assert notes[kube.TARGET] == "3"
    assert notes[kube.DRAINING] == f"{STS}-3"
    # The first reconciler dies here (no release): the second must wait out its
    # Lease, then carry on from the annotations and the drain marks.
    second, sts = await rig.reconciler(policy(), identity="second")
    began = int(time.time() * 1000)
    await _run_until(second, lambda: rig.replicas() == 1, within=120)
    await asyncio.wait_for(asyncio.gather(*following), 60)
    decisions = list(reversed(second.status().decisions))
    assert decisions[0].outcome in ("waiting-for-drain", "scale-down"), decisions[0]
    # It acted only once the first one's Lease (4 s) had run out.
    assert decisions[0].at_ms - began >= 3_500, decisions[0].at_ms - began
    assert f"{STS}-3" not in {r for d in decisions for r in d.drained}, "drained twice"
    assert [w[1] for w in sts.writes] == [3, 2, 1]
    for _, _, held in sts.writes:
        assert all(v == (0, 0, 0) for v in held.values()), held
    # The second took the Lease over (one transition) and handed it back on stop.
    lease = rig.lease()
    assert lease is not None
    assert lease["spec"]["leaseTransitions"] == 1
    assert "holderIdentity" not in lease["spec"]
    for p in rig.players:
        assert p.joined is not None
        if p.name in moved:
            _assert_room_survived(p, p.joined.room_id, *seen[p.joined.room_id])
            assert p.joined.relay_id == f"{STS}-0"


async def test_only_the_lease_holder_acts(make_rig: Any) -> None:
    rig: Rig = await make_rig(2)  # no players: one relay is enough
    a, a_sts = await rig.reconciler(policy(), identity="a")
    b, b_sts = await rig.reconciler(policy(), identity="b")
    ta = asyncio.create_task(a.run(0.3))
    await rig.wait("a leads", lambda: a.status().leader, 10)
    tb = asyncio.create_task(b.run(0.3))
    try:
        await rig.wait("scaled to 1", lambda: rig.replicas() == 1, 60)
        await asyncio.sleep(1)
        assert a.status().leader
        assert not b.status().leader
        assert b.status().holder == "a"
        assert b.status().decisions == []
        assert b_sts.writes == []
        assert [w[1] for w in a_sts.writes] == [1]
        lease = rig.lease()
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == "a"
        # The leader stops and hands the Lease back: the other takes it at once.
        ta.cancel()
        await asyncio.gather(ta, return_exceptions=True)
        await rig.wait("b leads", lambda: b.status().leader, 5)
        assert (rig.lease() or {})["spec"]["holderIdentity"] == "b"
    finally:
        for t in (ta, tb):
            t.cancel()
        await asyncio.gather(ta, tb, return_exceptions=True)


async def test_dry_run_writes_nothing(make_rig: Any) -> None:
    rig: Rig = await make_rig(3)  # no players: would go to 1
    before = rig.statefulset()["metadata"]["resourceVersion"]
    rec, sts = await rig.reconciler(policy(max_concurrent_drains=2), dry_run=True)
    for _ in range(3):
        plan = await rec.reconcile()
        assert plan is not None, rec.status().last_error
        assert plan.outcome == "scale-down-start"
    status = rec.status()
    assert status.dry_run
    assert not status.leader
    assert status.decisions[0].outcome == "scale-down-start"
    assert status.decisions[0].repeats == 3
    assert status.decisions[0].drained == [f"{STS}-2", f"{STS}-1"]
    assert rig.statefulset()["metadata"]["resourceVersion"] == before
    assert rig.replicas() == 3
    assert rig.lease() is None
    assert sts.writes == []
    relays = await rig.relays()
    assert not any(r.drain_requested for r in relays.values())
    assert all(r.state == "ready" for r in relays.values())


async def test_the_app_runs_the_autoscaler_from_its_settings(make_rig: Any) -> None:
    """The lifespan wiring: PLAZA_AUTOSCALER_* settings, a kubeconfig holding the
    ServiceAccount's token, the loop, the ops view and the metrics."""
    rig: Rig = await make_rig(2)  # no players: one relay is enough
    base = rig.svc.settings
    settings = msgspec.structs.replace(
        base,
        autoscaler_enabled=True,
        autoscaler_kubeconfig=str(rig.sa_kubeconfig),
        autoscaler_namespace=rig.namespace,
        autoscaler_statefulset=STS,
        autoscaler_lease_name=LEASE,
        autoscaler_interval_seconds=0.5,
        autoscaler_scale_down_stabilization_seconds=0,
        autoscaler_lease_seconds=6,
        autoscaler_identity="app-under-test",
    )
    headers = {"x-api-key": rig.cluster.admin_key}
    async with AsyncTestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        await rig.wait("scaled to 1", lambda: rig.replicas() == 1, 60)
        resp = await http.get("/v1/ops/autoscaler", headers=headers)
        assert resp.status_code == 200, resp.text
        view = resp.json()
        assert view["enabled"] is True
        assert view["leader"] is True
        assert view["holder"] == "app-under-test"
        assert view["namespace"] == rig.namespace
        outcomes = [d["outcome"] for d in view["decisions"]]
        assert "scale-down" in outcomes
        assert (rig.lease() or {})["spec"]["holderIdentity"] == "app-under-test"
        metrics = (await http.get("/metrics")).text
        assert "plaza_control_autoscaler_leader 1.0" in metrics
        assert 'plaza_control_autoscaler_scale_writes_total{direction="down"} 1.0' in metrics
    # The lifespan stopped the loop, which handed the Lease back.
    assert "holderIdentity" not in (rig.lease() or {"spec": {}})["spec"]


class LostCommandDrains(OpsDrains):
    """The drain path with its drain command lost on the way (pub/sub is at most
    once): the relay is marked draining but never told, so it keeps its players."""

    async def drain(self, relay_id: str, reason: str) -> None:
        live = {r.relay_id: r for r in await self._alloc.relays()}
        await self._alloc.mark_draining(relay_id, live[relay_id].boot_id)


async def test_drain_timeout_gives_the_step_up(make_rig: Any) -> None:
    rig: Rig = await make_rig(2)
    # One player on each relay: 2 connections need one relay.
    await rig.add_players({"to-a": 1, "to-b": 1})
    on_top = next(p for p in rig.players if p.joined and p.joined.relay_id == f"{STS}-1")
    api = await kube.api_client(str(rig.sa_kubeconfig))
    rig.apis.append(api)
    sts = RecordingStatefulSet(api, rig.namespace, rig.svc)
    rec = Reconciler(
        statefulset=sts,
        elector=kube.LeaseElector(api, rig.namespace, LEASE, "timeout", 4),
        relays=rig.svc.allocator.relays,
        drains=LostCommandDrains(rig.svc.ops, rig.svc.allocator, relay_deadline_seconds=10),
        policy=policy(drain_timeout_ms=2_000, stabilization_ms=4_000),
        metrics=Metrics().autoscaler,
    )
    await _run_until(
        rec, lambda: any(d.outcome == "drain-timeout" for d in rec.status().decisions), 30
    )
    outcomes = [d.outcome for d in reversed(rec.status().decisions)]
    assert outcomes[:2] == ["steady", "scale-down-start"], outcomes
    assert "drain-timeout" in outcomes
    # Nothing lowered; the relay is back in service; its player never left.
    assert sts.writes == []
    assert rig.replicas() == 2
    assert not (await rig.relays())[f"{STS}-1"].drain_requested
    assert on_top.close_code is None
    assert not any(
        k.startswith(kube.ANNOTATION_PREFIX)
        for k in rig.statefulset()["metadata"].get("annotations", {})
    )
    # The window starts again: no new step right after giving one up.
    plan = await rec.reconcile()
    assert plan is not None, rec.status().last_error
    assert plan.outcome == "steady"
