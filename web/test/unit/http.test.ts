// requestJson's refusals: the wait a client should honour (docs/control.md
// "Errors"): the problem body's retry_after_ms first, else Retry-After.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, requestJson } from "../../src/common/http.js";

async function refusal(status: number, headers: Record<string, string>, body: unknown): Promise<ApiError> {
  const real = globalThis.fetch;
  globalThis.fetch = (async () =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/problem+json", ...headers } })) as typeof fetch;
  try {
    await requestJson("POST", "/v1/join", {});
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return e;
  } finally {
    globalThis.fetch = real;
  }
  throw new Error("no refusal");
}

test("a refusal's retryAfterMs is the body's retry_after_ms, not the rounded header", async () => {
  const e = await refusal(503, { "retry-after": "2" }, { type: "urn:plaza:problem:overloaded", retry_after_ms: 1234 });
  assert.equal(e.code, "overloaded");
  assert.equal(e.retryAfterMs, 1234);
});

test("without retry_after_ms the header's seconds count; without either, 0", async () => {
  assert.equal((await refusal(429, { "retry-after": "3" }, { type: "urn:plaza:problem:rate-limited" })).retryAfterMs, 3000);
  assert.equal((await refusal(503, {}, { type: "urn:plaza:problem:no-relay", retry_after_ms: 0 })).retryAfterMs, 0);
  assert.equal((await refusal(404, {}, { type: "urn:plaza:problem:not-found" })).retryAfterMs, 0);
});
