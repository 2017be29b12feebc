// The banner over the room: reconnecting (with the attempt), reconnected
// (fades after a few seconds), or why the session ended for good (stays).
import { h } from "../common/dom.js";

export type BannerKind = "info" | "ok" | "error";

export class Banner {
  readonly el = h("div", { class: "banner", role: "alert", "data-testid": "banner", hidden: true });
  private timer = 0;

  show(kind: BannerKind, text: string, hideAfterMs = 0): void {
    window.clearTimeout(this.timer);
    this.el.className = `banner ${kind}`;
    this.el.setAttribute("data-kind", kind);
    this.el.textContent = text;
    this.el.hidden = false;
    if (hideAfterMs > 0) this.timer = window.setTimeout(() => this.hide(), hideAfterMs);
  }

  hide(): void {
    window.clearTimeout(this.timer);
    this.el.hidden = true;
    this.el.removeAttribute("data-kind");
  }
}
