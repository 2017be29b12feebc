// The reconnect rule, the one every Plaza client follows (docs/protocol.md
// §8, the Go client's client.Backoff): before reconnect attempt n (0-based,
// reset to 0 after a Welcome) wait
//
//   hint + uniform(0, min(BACKOFF_MAX_MS, BACKOFF_BASE_MS · 2^n))
//
// where hint is the server's own pacing when it gave one — a
// DisconnectNotice's resume.retry_after_ms, or the Retry-After of a join
// answered 409, 429 or 503 — and 0 otherwise.

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 10_000;

/**
 * How long to wait (ms) before reconnect attempt `attempt` (0-based;
 * negative or non-finite counts as 0) given the server's hint in ms (0:
 * none; negative counts as 0). `random` returns a uniform value in [0, 1).
 */
export function backoffDelay(attempt: number, hintMs: number, random: () => number = Math.random): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 250 ms · 2^6 = 16 s is already past the cap; no overflow for any n.
  const ceiling = n >= 6 ? BACKOFF_MAX_MS : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** n);
  const hint = Number.isFinite(hintMs) && hintMs > 0 ? hintMs : 0;
  return hint + Math.floor(random() * ceiling);
}

/** Parses a Retry-After header (delay-seconds or an HTTP date) into ms; 0 when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number = Date.now()): number {
  if (header === null || header.trim() === "") return 0;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
}
