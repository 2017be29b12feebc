// The reconnect rule, the one every Plaza client follows (docs/protocol.md
// §8): before reconnect attempt n (0-based, reset to 0 after a Welcome) wait
//
//   with a server hint:  hint + uniform(0, HINT_JITTER_MS)
//   without one:         uniform(0, min(BACKOFF_MAX_MS, BACKOFF_BASE_MS · 2^n))
//
// where the hint is the server's own pacing — a DisconnectNotice's
// resume.retry_after_ms, or a join answered 409, 429 or 503: its problem
// body's retry_after_ms, else its Retry-After header. The server already
// spreads its hints (the join admission schedule hands each refused join its
// own slot), so a hint is not blurred by the growing backoff term.

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 10_000;
/** The jitter added to a server hint (the same whatever the attempt). */
export const HINT_JITTER_MS = 250;

/**
 * How long to wait (ms) before reconnect attempt `attempt` (0-based;
 * negative or non-finite counts as 0) given the server's hint in ms (0 or
 * negative: none). `random` returns a uniform value in [0, 1).
 */
export function backoffDelay(attempt: number, hintMs: number, random: () => number = Math.random): number {
  const hint = Number.isFinite(hintMs) && hintMs > 0 ? hintMs : 0;
  if (hint > 0) return hint + Math.floor(random() * HINT_JITTER_MS);
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 250 ms · 2^6 = 16 s is already past the cap; no overflow for any n.
  const ceiling = n >= 6 ? BACKOFF_MAX_MS : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** n);
  return Math.floor(random() * ceiling);
}

/**
 * A refusal's wait in ms: the problem body's retry_after_ms (an integer >= 1,
 * preferred: the Retry-After header rounds it up to whole seconds), else the
 * Retry-After header; 0 when neither says.
 */
export function refusalWaitMs(problem: unknown, header: string | null, nowMs: number = Date.now()): number {
  if (typeof problem === "object" && problem !== null) {
    const ms = (problem as { retry_after_ms?: unknown }).retry_after_ms;
    if (typeof ms === "number" && Number.isInteger(ms) && ms >= 1) return ms;
  }
  return retryAfterMs(header, nowMs);
}

/** Parses a Retry-After header (delay-seconds or an HTTP date) into ms; 0 when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number = Date.now()): number {
  if (header === null || header.trim() === "") return 0;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
}
