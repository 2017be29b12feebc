// Round-trip time and the relay's clock offset from Pongs (protocol.md §5
// "Ping"): RTT = now − client_time_ms; offset ≈ server_time_ms −
// (client_time_ms + RTT/2). The offset kept is the one of the sample with the
// lowest RTT among the last `window` (its error is at most RTT/2).

export interface ClockSample {
  rttMs: number;
  offsetMs: number;
}

export class ClockEstimator {
  private samples: ClockSample[] = [];

  constructor(private readonly window = 8) {}

  /** Adds one Pong's times (all Unix ms); returns that sample. */
  addPong(clientTimeMs: number, serverTimeMs: number, nowMs: number): ClockSample {
    const rttMs = Math.max(0, nowMs - clientTimeMs);
    const sample = { rttMs, offsetMs: serverTimeMs - (clientTimeMs + rttMs / 2) };
    this.samples.push(sample);
    if (this.samples.length > this.window) this.samples.shift();
    return sample;
  }

  /** Seeds the offset from a Welcome's server time when there is no Pong yet (error up to one RTT). */
  seed(serverTimeMs: number, nowMs: number): void {
    if (this.samples.length === 0) this.seedOffset = serverTimeMs - nowMs;
  }

  private seedOffset = 0;

  /** The latest RTT, null before the first Pong. */
  get rttMs(): number | null {
    const last = this.samples[this.samples.length - 1];
    return last === undefined ? null : last.rttMs;
  }

  /** server − client clock, ms. */
  get offsetMs(): number {
    let best: ClockSample | undefined;
    for (const s of this.samples) if (best === undefined || s.rttMs < best.rttMs) best = s;
    return best === undefined ? this.seedOffset : best.offsetMs;
  }
}
