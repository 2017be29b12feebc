// Unit tests of the world's pure parts: geometry, walking, the light's
// value, close reasons.
import { test } from "node:test";
import assert from "node:assert/strict";
import { clampToRoom, fromCanvas, ROOM_MAX, ROOM_MIN, toCanvas } from "../../src/world/room-geometry.js";
import { SelfMover } from "../../src/world/self-mover.js";
import { lightIsOn } from "../../src/world/light-switch.js";
import { describeClose } from "../../src/world/close-reasons.js";
import { nameProblem } from "../../src/world/identity.js";

test("canvas mapping round-trips and corners land on the edges", () => {
  for (const p of [{ x: 0, z: 0 }, { x: 20, z: 20 }, { x: -3.5, z: 41.25 }]) {
    const { cx, cy } = toCanvas(p, 600);
    const back = fromCanvas(cx, cy, 600);
    assert.ok(Math.abs(back.x - p.x) < 1e-9 && Math.abs(back.z - p.z) < 1e-9);
  }
  assert.deepEqual(toCanvas({ x: ROOM_MIN, z: ROOM_MIN }, 600), { cx: 0, cy: 0 });
  assert.deepEqual(toCanvas({ x: ROOM_MAX, z: ROOM_MAX }, 600), { cx: 600, cy: 600 });
  assert.deepEqual(clampToRoom({ x: -100, z: 100 }), { x: ROOM_MIN, z: ROOM_MAX });
});

test("walking to a point sends at most one Move per 50 ms and one when it stops", () => {
  const sent: { t: number; x: number; z: number; vx: number }[] = [];
  let now = 0;
  const m = new SelfMover({ x: 0, z: 0 }, (p, v) => sent.push({ t: now, x: p.x, z: p.z, vx: v.x }));
  m.walkTo({ x: 2, z: 0 });
  for (now = 16; now <= 1000; now += 16) m.step(16, now);
  assert.ok(Math.abs(m.position.x - 2) < 1e-9, `stopped at ${m.position.x}`);
  assert.equal(m.position.z, 0);
  for (let i = 1; i < sent.length - 1; i++) assert.ok(sent[i]!.t - sent[i - 1]!.t >= 50);
  const last = sent[sent.length - 1]!;
  assert.equal(last.x, 2);
  assert.equal(last.vx, 0, "the last Move says it stopped");
  const before = sent.length;
  for (; now <= 2000; now += 16) m.step(16, now);
  assert.equal(sent.length, before, "no Moves while standing");
});

test("the walk speed is 5 m/s and the room's edge stops it", () => {
  let now = 0;
  const m = new SelfMover({ x: ROOM_MAX - 1, z: 0 }, () => undefined);
  m.walkTo({ x: ROOM_MAX + 50, z: 0 });
  for (now = 10; now <= 100; now += 10) m.step(10, now);
  assert.ok(Math.abs(m.position.x - (ROOM_MAX - 0.5)) < 1e-6, `${m.position.x}`);
  for (; now <= 1000; now += 10) m.step(10, now);
  assert.equal(m.position.x, ROOM_MAX);
});

test("the light is on unless its value says off", () => {
  const enc = new TextEncoder();
  assert.equal(lightIsOn(undefined), true);
  assert.equal(lightIsOn({ value: enc.encode("on"), version: 3 }), true);
  assert.equal(lightIsOn({ value: enc.encode("off"), version: 4 }), false);
});

test("close reasons name the code and carry the operator's reason", () => {
  assert.equal(describeClose(4107, "spamming"), "You were kicked: spamming");
  assert.equal(describeClose(4108, " "), "You were banned");
  assert.equal(describeClose(4999, ""), "Disconnected (close code 4999)");
});

test("display names: 2 to 32 characters", () => {
  assert.notEqual(nameProblem("A"), null);
  assert.equal(nameProblem("Al"), null);
  assert.equal(nameProblem("x".repeat(32)), null);
  assert.notEqual(nameProblem("x".repeat(33)), null);
});

test("chat lines: once per sequence, in sequence order, notices after what was seen", async () => {
  const { LineOrder } = await import("../../src/world/line-order.js");
  const o = new LineOrder<{ sequence: number; notice: boolean; text: string }>(5);
  const ev = (sequence: number, text: string) => ({ sequence, notice: false, text });
  assert.equal(o.add(ev(3, "c")), true);
  assert.equal(o.add(ev(1, "a")), true);
  assert.equal(o.add({ sequence: 0, notice: true, text: "reconnected" }), true);
  assert.equal(o.add(ev(2, "b")), true); // missed while away, from history
  assert.equal(o.add(ev(3, "c again")), false); // live and from history: once
  assert.deepEqual(o.all().map((l) => l.text), ["a", "b", "c", "reconnected"]);
  assert.equal(o.newestSequence, 3);
  o.add(ev(4, "d"));
  o.add(ev(5, "e"));
  assert.deepEqual(o.all().map((l) => l.text), ["b", "c", "reconnected", "d", "e"]); // bounded to 5: "a" went
  o.clear();
  assert.deepEqual(o.all(), []);
  assert.equal(o.newestSequence, 0);
});
