// The chat panel: one ordered list of the room's chat, emotes, arrivals,
// departures and announcements, by room sequence, each with its time. Lines
// from the relay and from the history endpoint are merged by sequence, so a
// line seen twice (live, then in history after a reconnect) shows once and a
// line missed while reconnecting appears in its place.
import { h, replace } from "../common/dom.js";
import { clock } from "../common/format.js";
import { LineOrder, type Sequenced } from "./line-order.js";

export type LineKind = "chat" | "emote" | "state" | "joined" | "left" | "announcement" | "notice";

export interface LogLine {
  /** Room sequence; notices (the page's own) take the newest sequence seen. */
  sequence: number;
  kind: LineKind;
  atMs: number;
  who: string;
  text: string;
  own?: boolean;
}

export class ChatLog {
  readonly el = h("ol", { class: "chat-log", "data-testid": "chat-log", "aria-live": "polite" });
  private readonly order = new LineOrder<LogLine & Sequenced>();

  add(line: LogLine): void {
    const held = { ...line, notice: line.kind === "notice" };
    if (held.notice) held.sequence = this.order.newestSequence;
    if (this.order.add(held)) this.render();
  }

  /** Forget everything (a room's new lifetime starts its sequence again). */
  clear(): void {
    this.order.clear();
    this.render();
  }

  get newestSequence(): number {
    return this.order.newestSequence;
  }

  private render(): void {
    const stick = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - 8;
    replace(this.el, ...this.order.all().map((l) => this.item(l)));
    if (stick) this.el.scrollTop = this.el.scrollHeight;
  }

  private item(l: LogLine): HTMLLIElement {
    const body: (Node | string)[] = [];
    switch (l.kind) {
      case "chat":
        body.push(h("b", {}, l.who), " ", h("span", { class: "text" }, l.text));
        break;
      case "emote":
      case "state":
        body.push(h("i", {}, `${l.who} ${l.text}`));
        break;
      case "joined":
        body.push(h("i", {}, `${l.who} joined`));
        break;
      case "left":
        body.push(h("i", {}, `${l.who} left (${l.text})`));
        break;
      case "announcement":
        body.push(h("b", {}, "Announcement: "), l.text);
        break;
      case "notice":
        body.push(h("i", {}, l.text));
        break;
    }
    return h("li", { class: `line ${l.kind}${l.own ? " own" : ""}`, "data-seq": l.sequence, "data-kind": l.kind },
      h("time", { datetime: new Date(l.atMs).toISOString() }, clock(l.atMs)), " ", ...body);
  }
}
