// Render-time buffer for movement (protocol.md §5 "Movement"): batches come
// at the room's tick rate (10–30 Hz), frames render at 60+ Hz. Render each
// avatar `delayMs` in the past, between the two batches around that moment,
// so motion is smooth while batches arrive with jitter. Times are on the
// relay's clock (a batch's server_time_ms; pass client.serverNow()).
import type { MovementEvent } from "./events.js";
import type { Quat, Transform, Vec3 } from "./types.js";

export interface InterpolatorOptions {
  /** How far behind the relay's clock to render, ms; default 100 (2 ticks at 20 Hz). */
  delayMs?: number;
  /** Samples kept per avatar; default 32. */
  capacity?: number;
}

interface Sample {
  timeMs: number;
  transform: Transform;
}

function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

function lerpVec(a: Vec3, b: Vec3, t: number): Vec3 {
  return { x: lerp(a.x, b.x, t), y: lerp(a.y, b.y, t), z: lerp(a.z, b.z, t) };
}

/** Normalised lerp along the shorter arc; falls back to b for a zero result. */
function nlerp(a: Quat, b: Quat, t: number): Quat {
  const dot = a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
  const s = dot < 0 ? -1 : 1;
  const q = {
    x: lerp(a.x, s * b.x, t),
    y: lerp(a.y, s * b.y, t),
    z: lerp(a.z, s * b.z, t),
    w: lerp(a.w, s * b.w, t),
  };
  const len = Math.hypot(q.x, q.y, q.z, q.w);
  return len === 0 ? { ...b } : { x: q.x / len, y: q.y / len, z: q.z / len, w: q.w / len };
}

/** The transform between a and b at fraction t ∈ [0, 1]; animation and flags switch at t = 1. */
export function interpolateTransform(a: Transform, b: Transform, t: number): Transform {
  const f = Math.min(1, Math.max(0, t));
  return {
    position: lerpVec(a.position, b.position, f),
    rotation: nlerp(a.rotation, b.rotation, f),
    velocity: lerpVec(a.velocity, b.velocity, f),
    animation: f >= 1 ? b.animation : a.animation,
    flags: f >= 1 ? b.flags : a.flags,
  };
}

export class Interpolator {
  readonly delayMs: number;
  private readonly capacity: number;
  private readonly avatars = new Map<number, Sample[]>();

  constructor(options: InterpolatorOptions = {}) {
    this.delayMs = options.delayMs ?? 100;
    this.capacity = Math.max(2, options.capacity ?? 32);
  }

  /** Adds every avatar of a movement batch at the batch's server time. */
  push(event: MovementEvent): void {
    for (const a of event.avatars) this.set(a.memberId, a.transform, event.serverTimeMs);
  }

  /**
   * Adds one sample (e.g. a Welcome member's transform at the Welcome's
   * server time). A sample older than the newest is dropped (batches can
   * arrive late; latest wins); one at the same time replaces it.
   */
  set(memberId: number, transform: Transform, serverTimeMs: number): void {
    let samples = this.avatars.get(memberId);
    if (samples === undefined) {
      samples = [];
      this.avatars.set(memberId, samples);
    }
    const last = samples[samples.length - 1];
    if (last !== undefined && serverTimeMs < last.timeMs) return;
    if (last !== undefined && serverTimeMs === last.timeMs) samples.pop();
    samples.push({ timeMs: serverTimeMs, transform });
    if (samples.length > this.capacity) samples.splice(0, samples.length - this.capacity);
  }

  remove(memberId: number): void {
    this.avatars.delete(memberId);
  }

  clear(): void {
    this.avatars.clear();
  }

  /** Member ids with at least one sample. */
  members(): number[] {
    return [...this.avatars.keys()];
  }

  /**
   * The member's transform to draw at renderTimeMs (relay clock, usually
   * client.serverNow()): the pose at renderTimeMs − delayMs, interpolated
   * between the samples around it; before the oldest sample the oldest,
   * after the newest the newest (it holds, it does not extrapolate). null
   * for a member without samples.
   */
  sample(memberId: number, renderTimeMs: number): Transform | null {
    const samples = this.avatars.get(memberId);
    if (samples === undefined || samples.length === 0) return null;
    const at = renderTimeMs - this.delayMs;
    const first = samples[0]!;
    if (at <= first.timeMs) return first.transform;
    for (let i = 1; i < samples.length; i++) {
      const b = samples[i]!;
      if (at <= b.timeMs) {
        const a = samples[i - 1]!;
        return interpolateTransform(a.transform, b.transform, (at - a.timeMs) / (b.timeMs - a.timeMs));
      }
    }
    return samples[samples.length - 1]!.transform;
  }

  /** sample() for every member with samples. */
  sampleAll(renderTimeMs: number): Map<number, Transform> {
    const out = new Map<number, Transform>();
    for (const id of this.avatars.keys()) {
      const t = this.sample(id, renderTimeMs);
      if (t !== null) out.set(id, t);
    }
    return out;
  }
}
