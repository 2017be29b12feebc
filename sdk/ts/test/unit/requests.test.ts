import assert from "node:assert/strict";
import { test } from "node:test";
import { PlazaError, RequestTracker } from "../../src/index.js";

test("ids are non-zero uint32s and skip ids still pending", () => {
  const t = new RequestTracker();
  const a = t.nextId();
  assert.equal(a, 1);
  void t.track(a, 7, 0);
  (t as unknown as { last: number }).last = 0xffff_ffff;
  assert.equal(t.nextId(), 2, "wraps past 2^32-1 to 1, and 1 is pending");
});

test("resolve needs the right kind; reject with type 0 matches any kind", async () => {
  const t = new RequestTracker();
  const p = t.track<string>(5, 7, 0);
  assert.equal(t.resolve(5, 9, "wrong kind"), false);
  assert.equal(t.resolve(0, 7, "id 0 is never a request"), false);
  assert.equal(t.resolve(5, 7, "ok"), true);
  assert.equal(await p, "ok");
  const q = t.track<string>(6, 7, 0);
  assert.equal(t.reject(6, 0, new PlazaError("MalformedFrame", "x")), true);
  await assert.rejects(q, (e: unknown) => e instanceof PlazaError && e.code === "MalformedFrame");
  assert.equal(t.size, 0);
});

test("timeouts and rejectAll settle every promise", async () => {
  const t = new RequestTracker();
  const slow = t.track(1, 7, 20);
  await assert.rejects(slow, (e: unknown) => e instanceof PlazaError && e.code === "timeout" && e.requestId === 1);
  const a = t.track(2, 7, 0);
  const b = t.track(3, 8, 1000);
  t.rejectAll((id) => new PlazaError("unconfirmed", `lost ${id}`));
  await assert.rejects(a, /lost 2/);
  await assert.rejects(b, /lost 3/);
});
