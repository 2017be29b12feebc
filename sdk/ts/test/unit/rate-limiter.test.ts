import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenBucket, bucketFor } from "../../src/index.js";

test("a bucket starts full, refills at its rate and never beyond its burst", () => {
  const b = new TokenBucket(2, 5, 0);
  for (let i = 0; i < 5; i++) assert.equal(b.take(0), true, `token ${i}`);
  assert.equal(b.take(0), false);
  assert.equal(b.waitMs(0), 500);
  assert.equal(b.take(499), false);
  assert.equal(b.take(1000), true, "0.5 s at 2/s is one token; 1 s later two");
  assert.equal(b.take(10_000_000), true);
  for (let i = 0; i < 4; i++) assert.equal(b.take(10_000_000), true);
  assert.equal(b.take(10_000_000), false, "a long pause still gives at most the burst");
  assert.equal(bucketFor(0, 5, 0), null, "rate 0: the relay limits nothing");
  assert.equal(bucketFor(2, 0, 0), null);
});
