// The reconnect rule (docs/protocol.md §8) and the terminal-close table (§7).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  HINT_JITTER_MS,
  backoffDelay,
  closeCodeName,
  isTerminalClose,
  refusalWaitMs,
  retryAfterMs,
} from "../../src/index.js";

test("without a hint: the full-jitter ceiling doubles from 250 ms and stops at 10 s; a hint gets 250 ms of jitter only", () => {
  const almostOne = () => 0.999999;
  const rows: { description: string; attempt: number; hint: number; want: number }[] = [
    { description: "first attempt", attempt: 0, hint: 0, want: 249 },
    { description: "second attempt", attempt: 1, hint: 0, want: 499 },
    { description: "sixth attempt (8 s)", attempt: 5, hint: 0, want: 7999 },
    { description: "capped at 10 s", attempt: 6, hint: 0, want: 9999 },
    { description: "huge attempt never overflows", attempt: 10_000, hint: 0, want: 9999 },
    { description: "negative attempt counts as 0", attempt: -3, hint: 0, want: 249 },
    { description: "server hint plus up to 250 ms", attempt: 0, hint: 3000, want: 3249 },
    { description: "a hint is not blurred by the attempt's backoff", attempt: 5, hint: 3000, want: 3249 },
    { description: "a hint at a huge attempt", attempt: 10_000, hint: 1234, want: 1483 },
    { description: "negative hint counts as none", attempt: 0, hint: -5, want: 249 },
    { description: "non-finite hint counts as none", attempt: 1, hint: Number.NaN, want: 499 },
  ];
  for (const r of rows) assert.equal(backoffDelay(r.attempt, r.hint, almostOne), r.want, r.description);
  assert.equal(backoffDelay(3, 700, () => 0), 700, "with random() = 0 only the hint is left");
  assert.equal(BACKOFF_BASE_MS, 250);
  assert.equal(BACKOFF_MAX_MS, 10_000);
  assert.equal(HINT_JITTER_MS, 250);
});

test("delays are uniform over [0, ceiling) without a hint and [hint, hint + 250) with one", () => {
  const noHint = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(2, 0);
    assert.ok(d >= 0 && d < 1000, String(d));
    noHint.add(Math.floor(d / 250));
    const h = backoffDelay(4, 100);
    assert.ok(h >= 100 && h < 100 + HINT_JITTER_MS, String(h));
  }
  assert.equal(noHint.size, 4, "every quarter of [0, 1000) is reached");
});

test("a refusal's wait: the body's retry_after_ms first, else Retry-After", () => {
  assert.equal(refusalWaitMs({ retry_after_ms: 1234 }, "2"), 1234);
  assert.equal(refusalWaitMs({ type: "urn:plaza:problem:overloaded" }, "2"), 2000);
  assert.equal(refusalWaitMs(undefined, "3"), 3000);
  assert.equal(refusalWaitMs({ retry_after_ms: 0 }, "1"), 1000, "not >= 1: the header");
  assert.equal(refusalWaitMs({ retry_after_ms: 1.5 }, null), 0, "not an integer, no header");
  assert.equal(refusalWaitMs({ retry_after_ms: "900" }, null), 0, "a string is not a number");
  assert.equal(refusalWaitMs(null, null), 0);
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
