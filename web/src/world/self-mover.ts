// Your own avatar: WASD / arrow keys walk, a click on the floor walks there.
// The page owns its own position (the relay echoes others' moves, not a
// correction of yours) and sends a Move at most every SEND_MS while walking,
// plus one when it stops, so the others see where it came to rest.
import { clampToRoom, type Point } from "./room-geometry.js";

const SPEED_M_PER_S = 5;
const SEND_MS = 50;
const KEYS: Record<string, [number, number]> = {
  w: [0, -1], arrowup: [0, -1],
  s: [0, 1], arrowdown: [0, 1],
  a: [-1, 0], arrowleft: [-1, 0],
  d: [1, 0], arrowright: [1, 0],
};

export interface MoveSink {
  (position: Point, velocity: Point, yaw: number): void;
}

export class SelfMover {
  position: Point;
  private target: Point | null = null;
  private readonly held = new Set<string>();
  private velocity: Point = { x: 0, z: 0 };
  private yaw = 0;
  private lastSend = 0;
  private moving = false;

  constructor(start: Point, private readonly send: MoveSink) {
    this.position = clampToRoom(start);
  }

  /** Keyboard input from `target` (ignored while typing in a text field). */
  listen(target: Window): void {
    target.addEventListener("keydown", (ev) => {
      if (isTyping(ev)) return;
      const k = ev.key.toLowerCase();
      if (k in KEYS) {
        this.held.add(k);
        this.target = null;
        ev.preventDefault();
      }
    });
    target.addEventListener("keyup", (ev) => this.held.delete(ev.key.toLowerCase()));
    target.addEventListener("blur", () => this.held.clear());
  }

  walkTo(p: Point): void {
    this.target = clampToRoom(p);
  }

  /** Place the avatar (a Welcome's transform for you) without walking. */
  place(p: Point): void {
    this.position = clampToRoom(p);
    this.target = null;
  }

  /** Advance by `dtMs`; sends a Move when due. */
  step(dtMs: number, nowMs: number): void {
    let dx = 0;
    let dz = 0;
    for (const k of this.held) {
      const d = KEYS[k];
      if (d) {
        dx += d[0];
        dz += d[1];
      }
    }
    if (dx === 0 && dz === 0 && this.target) {
      dx = this.target.x - this.position.x;
      dz = this.target.z - this.position.z;
      const dist = Math.hypot(dx, dz);
      if (dist < 1e-6) {
        this.position = this.target; // arrived (up to float rounding)
        this.target = null;
        dx = dz = 0;
      }
    }
    const len = Math.hypot(dx, dz);
    const wasMoving = this.moving;
    if (len > 0) {
      const step = (SPEED_M_PER_S * dtMs) / 1000;
      const arriving = this.target !== null && this.held.size === 0 && step >= len;
      const next = arriving && this.target
        ? this.target
        : clampToRoom({ x: this.position.x + (dx / len) * step, z: this.position.z + (dz / len) * step });
      this.velocity = { x: ((next.x - this.position.x) * 1000) / Math.max(dtMs, 1), z: ((next.z - this.position.z) * 1000) / Math.max(dtMs, 1) };
      this.yaw = Math.atan2(dx, dz);
      this.position = next;
      this.moving = true;
    } else {
      this.velocity = { x: 0, z: 0 };
      this.moving = false;
    }
    const stopped = wasMoving && !this.moving;
    if ((this.moving && nowMs - this.lastSend >= SEND_MS) || stopped) {
      this.lastSend = nowMs;
      this.send(this.position, this.velocity, this.yaw);
    }
  }

  get heading(): number {
    return this.yaw;
  }
}

function isTyping(ev: KeyboardEvent): boolean {
  const t = ev.target;
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
}
