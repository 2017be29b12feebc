"""A drain applies to one incarnation of a relay (decisions/009): the sweeper
drops the mark when the relay's live heartbeat shows another boot id (or expired),
an operator may undrain, and the control plane reports how many relays can take
a room. Allocation cases run on the memory model and on Redis."""

from __future__ import annotations

from typing import Any

from plaza_control.container import Services
from plaza_control.events.handlers import mirror_relay_drains
from plaza_control.keyspace import Keyspace
from plaza_control.models import Role
from plaza_control.observability import Metrics
from plaza_control.settings import Settings

from .helpers import make_api_key, relay, write_heartbeat
from .test_allocator import NOW, Rig, req, rig

__all__ = ["rig"]


async def _drained(r: Rig) -> dict[str, str]:
    return {i.relay_id: i.drain_boot_id for i in await r.alloc.relays() if i.drain_requested}


async def test_a_restarted_relay_takes_rooms_again_after_one_sweep(rig: Rig) -> None:
    r = rig
    await r.add(relay("relay-a", boot="b1"))
    await r.add(relay("relay-b", boot="c1", connections=500))
    await r.alloc.mark_draining("relay-a", "b1")
    assert await _drained(r) == {"relay-a": "b1"}
    # Same incarnation: the sweeper keeps the drain.
    await r.alloc.sweep(NOW)
    assert await _drained(r) == {"relay-a": "b1"}
    # relay-a exits and comes back under the same id with a new boot id.
    await r.add(relay("relay-a", boot="b2"))
    out = await r.alloc.join(req(1, [relay("relay-a", boot="b2")], wanted="x1"))
    assert out.status == "no_relay"  # still marked until the sweep
    await r.alloc.sweep(NOW)
    assert await _drained(r) == {}
    out = await r.alloc.join(req(1, [relay("relay-a", boot="b2")], wanted="x1"))
    assert out.relay is not None
    assert out.relay.relay_id == "relay-a"


async def test_a_drain_of_a_dead_relay_is_forgotten_and_undrain_removes_a_mark(rig: Rig) -> None:
    r = rig
    await r.add(relay("relay-a", boot="b1"))
    await r.add(relay("relay-b", boot="c1"))
    await r.alloc.mark_draining("relay-a", "b1")
    await r.alloc.mark_draining("relay-b", "c1")
    await r.kill("relay-a")
    await r.alloc.sweep(NOW)
    await r.add(relay("relay-a", boot="b1"))  # even the same boot id: the drain is gone
    assert await _drained(r) == {"relay-b": "c1"}
    assert await r.alloc.unmark_draining("relay-b")
    assert not await r.alloc.unmark_draining("relay-b")
    assert await _drained(r) == {}
    if r.r is not None and r.keyspace is not None:
        assert await r.r.hgetall(r.keyspace.drain_incarnations) == {}


async def test_mirrored_drains_record_the_incarnation(settings: Settings) -> None:
    svc = Services(settings, Metrics())
    try:
        await write_heartbeat(
            svc.redis, svc.keyspace, relay("relay-a", state="draining", boot="b1")
        )
        assert await mirror_relay_drains(svc.allocator) == 1
        assert await svc.redis.hgetall(svc.keyspace.drain_incarnations) == {b"relay-a": b"b1"}
        # Restarted, and draining again on its own: the mark follows the new process.
        await write_heartbeat(
            svc.redis, svc.keyspace, relay("relay-a", state="draining", boot="b2")
        )
        assert await mirror_relay_drains(svc.allocator) == 1
        assert await svc.redis.hgetall(svc.keyspace.drain_incarnations) == {b"relay-a": b"b2"}
    finally:
        await svc.close()


async def test_drain_and_undrain_over_http_need_a_reason_and_are_audited(
    client: Any, settings: Settings, redis_client: Any, keyspace: Keyspace
) -> None:
    admin = {"X-API-Key": await make_api_key(settings, Role.ADMIN)}
    moderator = {"X-API-Key": await make_api_key(settings, Role.MODERATOR)}
    await write_heartbeat(redis_client, keyspace, relay("relay-a", boot="0123456789abcdef"))
    ready = (await client.get("/readyz")).json()
    assert ready["placeable_relays"] == 1
    assert (
        await client.post("/v1/ops/relays/relay-a/drain", json={}, headers=admin)
    ).status_code == 400
    resp = await client.post(
        "/v1/ops/relays/relay-a/drain", json={"reason": "deploy"}, headers=admin
    )
    assert resp.status_code == 202, resp.text
    [view] = (await client.get("/v1/ops/relays", headers=admin)).json()["items"]
    assert (view["boot_id"], view["drain_requested"], view["drain_boot_id"]) == (
        "0123456789abcdef",
        True,
        "0123456789abcdef",
    )
    ready = await client.get("/readyz")
    assert ready.status_code == 200  # about the control plane's own dependencies
    assert ready.json()["placeable_relays"] == 0
    metrics = (await client.get("/metrics")).text
    assert "plaza_control_placeable_relays 0.0" in metrics
    path = "/v1/ops/relays/relay-a/undrain"
    assert (await client.post(path, json={}, headers=admin)).status_code == 400
    assert (await client.post(path, json={"reason": "x"}, headers=moderator)).status_code == 403
    resp = await client.post(path, json={"reason": "deploy rolled back"}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"relay_id": "relay-a", "undrained": True}
    assert (await client.get("/readyz")).json()["placeable_relays"] == 1
    resp = await client.post(path, json={"reason": "again"}, headers=admin)
    assert resp.json() == {"relay_id": "relay-a", "undrained": False}
    audit = (await client.get("/v1/ops/audit", headers=admin)).json()["items"]
    assert [(e["action"], e["status"]) for e in audit if e["action"].startswith("relay.")] == [
        ("relay.undrain", 200),
        ("relay.undrain", 200),
        ("relay.undrain", 403),
        ("relay.drain", 202),  # the status the drain answered with
    ]
    assert "reason: deploy rolled back" in audit[1]["detail"]
    assert audit[1]["reason"] == "deploy rolled back"
