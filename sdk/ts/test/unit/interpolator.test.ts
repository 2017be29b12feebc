import assert from "node:assert/strict";
import { test } from "node:test";
import { Interpolator, interpolateTransform, type Transform } from "../../src/index.js";

function at(x: number, yaw = 0): Transform {
  const h = yaw / 2;
  return { position: { x, y: 0, z: 0 }, rotation: { x: 0, y: Math.sin(h), z: 0, w: Math.cos(h) }, velocity: { x: 1, y: 0, z: 0 }, animation: x, flags: 0 };
}

test("samples between two batches are interpolated delayMs in the past", () => {
  const i = new Interpolator({ delayMs: 100 });
  i.push({ tick: 1, serverTimeMs: 1000, avatars: [{ memberId: 7, clientTimeMsLow: 0, transform: at(0) }] });
  i.push({ tick: 2, serverTimeMs: 1050, avatars: [{ memberId: 7, clientTimeMsLow: 0, transform: at(10) }] });
  assert.equal(i.sample(7, 1125)!.position.x, 5); // renders 1025: halfway
  assert.equal(i.sample(7, 1100)!.position.x, 0);
  assert.equal(i.sample(7, 1050)!.position.x, 0, "before the oldest: the oldest");
  assert.equal(i.sample(7, 2000)!.position.x, 10, "past the newest: hold, no extrapolation");
  assert.equal(i.sample(8, 1125), null);
  assert.equal(i.sampleAll(1125).get(7)!.position.x, 5);
});

test("late samples are dropped, rotation takes the short arc and stays normalised", () => {
  const i = new Interpolator({ delayMs: 0 });
  i.set(1, at(0, 0), 100);
  i.set(1, at(4, Math.PI / 2), 200);
  i.set(1, at(99), 150); // late: dropped
  const mid = i.sample(1, 150)!;
  assert.equal(mid.position.x, 2);
  assert.ok(Math.abs(Math.hypot(mid.rotation.x, mid.rotation.y, mid.rotation.z, mid.rotation.w) - 1) < 1e-9);
  assert.ok(Math.abs(mid.rotation.y - Math.sin(Math.PI / 8)) < 1e-6);
  assert.equal(mid.animation, 0, "animation switches at the end of the step");
  const q = interpolateTransform(at(0), { ...at(0), rotation: { x: 0, y: 0, z: 0, w: -1 } }, 0.5);
  assert.equal(q.rotation.w, 1, "q and -q are the same rotation: no flip through zero");
  i.remove(1);
  assert.deepEqual(i.members(), []);
});

test("the buffer is bounded per avatar", () => {
  const i = new Interpolator({ delayMs: 0, capacity: 4 });
  for (let t = 0; t < 10; t++) i.set(1, at(t), t * 10);
  assert.equal(i.sample(1, 0)!.position.x, 6, "the oldest kept sample is the 7th");
});
