// The room as the page draws it: a square of the world's x/z plane (metres),
// mapped onto the canvas. The demo bots walk circles inside 0..40 m
// (relay-go/client/walker.go, demobots --area 40), so the view spans -10..50.

export const ROOM_MIN = -10;
export const ROOM_MAX = 50;
export const ROOM_SIZE = ROOM_MAX - ROOM_MIN;

export interface Point {
  x: number;
  z: number;
}

export function clampToRoom(p: Point): Point {
  const c = (v: number): number => Math.min(ROOM_MAX, Math.max(ROOM_MIN, v));
  return { x: c(p.x), z: c(p.z) };
}

/** Metres -> canvas pixels for a square canvas of side `px`. */
export function toCanvas(p: Point, px: number): { cx: number; cy: number } {
  const s = px / ROOM_SIZE;
  return { cx: (p.x - ROOM_MIN) * s, cy: (p.z - ROOM_MIN) * s };
}

/** Canvas pixels -> metres (inverse of toCanvas). */
export function fromCanvas(cx: number, cy: number, px: number): Point {
  const s = ROOM_SIZE / px;
  return { x: cx * s + ROOM_MIN, z: cy * s + ROOM_MIN };
}

/** A stable colour per user id (hue from a string hash). */
export function colourOf(userId: string): string {
  let h = 2166136261;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return `hsl(${(h >>> 0) % 360} 65% 48%)`;
}
