// Self-throttling to the Welcome's SessionLimits (protocol.md §3: "Self-throttle
// to these"). The relay refuses chat, emotes and state sets over their rate
// with Error{RateLimited}, and every refused frame also spends the abuse
// budget (5/s, burst 40) whose end is close 4106 — terminal. A client that
// checks the same token bucket first never spends it on rate: over the rate,
// the request is refused locally and nothing is sent.

/** A token bucket: `burst` tokens, refilled at `ratePerSecond`; starts full. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.last = nowMs;
  }

  /** Takes one token if there is one at nowMs; false (nothing taken) otherwise. */
  take(nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.last) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
    this.last = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there (0: now). */
  waitMs(nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.last) / 1000;
    const tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / this.ratePerSecond) * 1000);
  }
}

/** A bucket for rate/burst, or null when the limits name none (0 = not limited by the relay). */
export function bucketFor(ratePerSecond: number, burst: number, nowMs: number): TokenBucket | null {
  return ratePerSecond > 0 && burst > 0 ? new TokenBucket(ratePerSecond, burst, nowMs) : null;
}
