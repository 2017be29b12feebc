// Connection facts under the room: status, room and relay, round-trip time (the SDK's
// pings), the room's tick rate and the batches actually received per second.
import { h } from "../common/dom.js";

export class StatusBar {
  readonly el = h("div", { class: "statusbar", "data-testid": "statusbar" });
  private batches: number[] = [];

  batch(nowMs: number): void {
    this.batches.push(nowMs);
  }

  show(facts: { status: string; roomId: string; relayId: string; rttMs: number | null; tickRateHz: number; nowMs: number }): void {
    this.batches = this.batches.filter((t) => facts.nowMs - t < 2000);
    const rtt = facts.rttMs === null ? "—" : `${Math.round(facts.rttMs)} ms`;
    const seen = (this.batches.length / 2).toFixed(0);
    this.el.setAttribute("data-status", facts.status);
    this.el.setAttribute("data-relay", facts.relayId);
    this.el.textContent = `${facts.status} · room ${facts.roomId || "—"} on ${facts.relayId || "—"} · RTT ${rtt} · tick ${facts.tickRateHz} Hz (${seen}/s with movement)`;
  }
}
