// The reconnect rule (docs/protocol.md §8) and the terminal-close table (§7).
import assert from "node:assert/strict";
import { test } from "node:test";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay, closeCodeName, isTerminalClose, retryAfterMs } from "../../src/index.js";

test("the full-jitter ceiling doubles from 250 ms and stops at 10 s", () => {
  const almostOne = () => 0.999999;
  const rows: { description: string; attempt: number; hint: number; want: number }[] = [
    { description: "first attempt", attempt: 0, hint: 0, want: 249 },
    { description: "second attempt", attempt: 1, hint: 0, want: 499 },
    { description: "sixth attempt (8 s)", attempt: 5, hint: 0, want: 7999 },
    { description: "capped at 10 s", attempt: 6, hint: 0, want: 9999 },
    { description: "huge attempt never overflows", attempt: 10_000, hint: 0, want: 9999 },
    { description: "negative attempt counts as 0", attempt: -3, hint: 0, want: 249 },
    { description: "server hint is added in full", attempt: 0, hint: 3000, want: 3249 },
    { description: "negative hint counts as 0", attempt: 0, hint: -5, want: 249 },
  ];
  for (const r of rows) assert.equal(backoffDelay(r.attempt, r.hint, almostOne), r.want, r.description);
  assert.equal(backoffDelay(3, 700, () => 0), 700, "with random() = 0 only the hint is left");
  assert.equal(BACKOFF_BASE_MS, 250);
  assert.equal(BACKOFF_MAX_MS, 10_000);
});

test("delays are uniform over [hint, hint + ceiling)", () => {
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(2, 100);
    assert.ok(d >= 100 && d < 100 + 1000, String(d));
  }
});

test("Retry-After: seconds or an HTTP date; unreadable is 0", () => {
  assert.equal(retryAfterMs("3"), 3000);
  assert.equal(retryAfterMs(null), 0);
  assert.equal(retryAfterMs("soon"), 0);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000);
});

test("terminal closes are exactly 1000, 1002, 1009 and 41xx", () => {
  for (const c of [1000, 1002, 1009, 4100, 4104, 4106, 4107, 4108, 4109, 4110, 4199]) assert.equal(isTerminalClose(c), true, String(c));
  for (const c of [1001, 1006, 1011, 4000, 4001, 4003, 4004, 4005, 4006, 4007, 4008, 4009, 4200]) assert.equal(isTerminalClose(c), false, String(c));
  assert.equal(closeCodeName(4107), "Kicked");
  assert.equal(closeCodeName(1006), "Abnormal");
  assert.equal(closeCodeName(4321), "Close4321");
});
