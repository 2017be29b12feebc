// Draws the room top-down: floor grid, the lamp, every avatar as a disc with
// its heading and display name, emote bubbles above them, and the room dark
// with a pool of light around each avatar when the shared light is off.
import { colourOf, fromCanvas, ROOM_MAX, ROOM_MIN, toCanvas, type Point } from "./room-geometry.js";

export interface AvatarSprite {
  memberId: number;
  userId: string;
  name: string;
  position: Point;
  /** Radians, 0 = +z (down on screen). */
  yaw: number;
  self: boolean;
  emote: string | null;
}

const AVATAR_M = 0.9;
export const LAMP: Point = { x: 20, z: 20 };

export class WorldCanvas {
  private readonly ctx: CanvasRenderingContext2D;
  private px = 600;

  constructor(readonly canvas: HTMLCanvasElement, onFloorClick: (p: Point) => void) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2D canvas in this browser");
    this.ctx = ctx;
    canvas.addEventListener("click", (ev) => {
      const r = canvas.getBoundingClientRect();
      onFloorClick(fromCanvas(((ev.clientX - r.left) * this.px) / r.width, ((ev.clientY - r.top) * this.px) / r.height, this.px));
    });
    this.resize();
    new ResizeObserver(() => this.resize()).observe(canvas);
  }

  private resize(): void {
    const side = Math.max(200, Math.floor(Math.min(this.canvas.clientWidth, this.canvas.clientHeight || this.canvas.clientWidth)));
    const dpr = window.devicePixelRatio || 1;
    this.px = side * dpr;
    this.canvas.width = this.px;
    this.canvas.height = this.px;
  }

  draw(avatars: readonly AvatarSprite[], lightOn: boolean): void {
    const { ctx, px } = this;
    const m = px / (ROOM_MAX - ROOM_MIN);
    ctx.fillStyle = "#eef1e6";
    ctx.fillRect(0, 0, px, px);
    ctx.strokeStyle = "#d8dccd";
    ctx.lineWidth = 1;
    for (let v = ROOM_MIN; v <= ROOM_MAX; v += 5) {
      const { cx } = toCanvas({ x: v, z: 0 }, px);
      ctx.beginPath();
      ctx.moveTo(cx, 0);
      ctx.lineTo(cx, px);
      ctx.moveTo(0, cx);
      ctx.lineTo(px, cx);
      ctx.stroke();
    }
    const lamp = toCanvas(LAMP, px);
    ctx.fillStyle = lightOn ? "#ffd84a" : "#6b6b6b";
    ctx.beginPath();
    ctx.arc(lamp.cx, lamp.cy, m * 1.2, 0, Math.PI * 2);
    ctx.fill();
    if (!lightOn) this.darken(avatars, m);

    const fontPx = Math.max(11, m * 0.9);
    ctx.font = `${fontPx}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    for (const a of [...avatars].sort((p, q) => Number(p.self) - Number(q.self))) {
      const { cx, cy } = toCanvas(a.position, px);
      const r = (AVATAR_M * m) / 2 + 2;
      ctx.fillStyle = colourOf(a.userId);
      ctx.beginPath();
      ctx.arc(cx, cy, r, 0, Math.PI * 2);
      ctx.fill();
      if (a.self) {
        ctx.strokeStyle = "#1d2430";
        ctx.lineWidth = 2;
        ctx.stroke();
      }
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(cx, cy);
      ctx.lineTo(cx + Math.sin(a.yaw) * r, cy + Math.cos(a.yaw) * r);
      ctx.stroke();
      ctx.fillStyle = lightOn ? "#1d2430" : "#f0f0f0";
      ctx.fillText(a.name, cx, cy - r - 4);
      if (a.emote) this.bubble(a.emote, cx, cy - r - fontPx - 8, fontPx);
    }
  }

  private darken(avatars: readonly AvatarSprite[], m: number): void {
    const { ctx, px } = this;
    ctx.save();
    ctx.fillStyle = "rgba(10, 14, 30, 0.78)";
    ctx.fillRect(0, 0, px, px);
    ctx.globalCompositeOperation = "lighter";
    for (const a of avatars) {
      const { cx, cy } = toCanvas(a.position, px);
      const g = ctx.createRadialGradient(cx, cy, 0, cx, cy, m * 3);
      g.addColorStop(0, "rgba(255, 230, 160, 0.35)");
      g.addColorStop(1, "rgba(255, 230, 160, 0)");
      ctx.fillStyle = g;
      ctx.fillRect(cx - m * 3, cy - m * 3, m * 6, m * 6);
    }
    ctx.restore();
  }

  private bubble(text: string, cx: number, cy: number, fontPx: number): void {
    const { ctx } = this;
    const w = ctx.measureText(text).width + 12;
    ctx.fillStyle = "rgba(255,255,255,0.92)";
    ctx.strokeStyle = "#9aa3b2";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.roundRect(cx - w / 2, cy - fontPx, w, fontPx + 8, 6);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = "#1d2430";
    ctx.fillText(text, cx, cy + 2);
  }
}
