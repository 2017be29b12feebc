// The chat panel: one ordered list of the room's chat, emotes, arrivals,
// departures and announcements, by room sequence, each with its time. Lines
// from the relay and from the history endpoint are merged by sequence, so a
// line seen twice (live, then in history after a reconnect) shows once and a
// line missed while reconnecting appears in its place.
import { h, replace } from "../common/dom.js";
import { clock } from "../common/format.js";

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

const MAX_LINES = 500;

export class ChatLog {
  readonly el = h("ol", { class: "chat-log", "data-testid": "chat-log", "aria-live": "polite" });
  /** key: `${sequence}` for room events, `${sequence}.n${i}` for notices. */
  private readonly lines = new Map<string, LogLine>();
  private notices = 0;
  private maxSequence = 0;

  add(line: LogLine): void {
    if (line.kind === "notice") {
      line.sequence = this.maxSequence;
      this.lines.set(`${line.sequence}.n${this.notices++}`, line);
    } else {
      const key = String(line.sequence);
      if (this.lines.has(key)) return;
      this.lines.set(key, line);
      this.maxSequence = Math.max(this.maxSequence, line.sequence);
    }
    this.trim();
    this.render();
  }

  /** Forget everything (a room's new lifetime starts its sequence again). */
  clear(): void {
    this.lines.clear();
    this.maxSequence = 0;
    this.render();
  }

  get newestSequence(): number {
    return this.maxSequence;
  }

  private trim(): void {
    if (this.lines.size <= MAX_LINES) return;
    const keys = this.sortedKeys();
    for (const k of keys.slice(0, keys.length - MAX_LINES)) this.lines.delete(k);
  }

  private sortedKeys(): string[] {
    return [...this.lines.keys()].sort((a, b) => {
      const [sa, na] = a.split(".n");
      const [sb, nb] = b.split(".n");
      const d = Number(sa) - Number(sb);
      if (d !== 0) return d;
      // Room events before the page's notices at the same sequence.
      return (na === undefined ? -1 : Number(na)) - (nb === undefined ? -1 : Number(nb));
    });
  }

  private render(): void {
    const stick = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - 8;
    replace(this.el, ...this.sortedKeys().map((k) => this.item(this.lines.get(k)!)));
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
