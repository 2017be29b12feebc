// Unit tests of the console's pure parts: paging, query strings, formatting.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readAll } from "../../src/console/paging.js";
import { queryString, type Page } from "../../src/common/http.js";
import { age, rate } from "../../src/common/format.js";

test("readAll follows next until null", async () => {
  const pages: Record<string, Page<number>> = {
    start: { items: [1, 2], next: "c1" },
    c1: { items: [3], next: "c2" },
    c2: { items: [], next: null },
  };
  const seen: (string | null)[] = [];
  const out = await readAll(async (cursor) => {
    seen.push(cursor);
    const page = pages[cursor ?? "start"];
    assert.ok(page, `unexpected cursor ${cursor}`);
    return page;
  });
  assert.deepEqual(out, { items: [1, 2, 3], more: false });
  assert.deepEqual(seen, [null, "c1", "c2"]);
});

test("readAll stops at maxPages and says so", async () => {
  const out = await readAll(async () => ({ items: [0], next: "again" }), 3);
  assert.deepEqual(out, { items: [0, 0, 0], more: true });
});

test("queryString drops empty values and escapes the rest", () => {
  assert.equal(queryString({}), "");
  assert.equal(queryString({ a: "", b: undefined, c: null }), "");
  assert.equal(queryString({ cursor: "a+b/=", limit: 50, ended: true }), "?cursor=a%2Bb%2F%3D&limit=50&ended=true");
});

test("age and rate pick whole units", () => {
  assert.equal(age(59_999), "59 s");
  assert.equal(age(60_000), "1 min");
  assert.equal(age(2 * 3600_000 + 5), "2 h");
  assert.equal(age(-5), "0 s");
  assert.equal(rate(1023), "1023 B/s");
  assert.equal(rate(1536), "1.5 KiB/s");
  assert.equal(rate(3 * 1024 * 1024), "3.0 MiB/s");
});

test("a 403 is described as the key's role, other refusals by status and problem", async () => {
  const { describe } = await import("../../src/console/status-line.js");
  const { ApiError } = await import("../../src/common/http.js");
  const forbidden = new ApiError(403, "forbidden", "needs role admin", 0);
  assert.match(describe(forbidden), /^403 — your key's role does not allow this \(needs role admin\)$/);
  assert.equal(describe(new ApiError(404, "not-found", "no such user", 0)), "404 not-found — no such user");
});
