// Who is in the room, by display name, you first.
import { h, replace } from "../common/dom.js";
import { colourOf } from "./room-geometry.js";

export interface MemberRow {
  memberId: number;
  userId: string;
  name: string;
  self: boolean;
}

/** Set through the CSSOM: the page's CSP refuses style attributes. */
function dot(colour: string): HTMLElement {
  const el = h("span", { class: "dot" });
  el.style.background = colour;
  return el;
}

export class MemberList {
  readonly el = h("ul", { class: "members", "data-testid": "members" });
  private readonly title: HTMLElement;

  constructor(title: HTMLElement) {
    this.title = title;
  }

  /** `title` replaces "In the room (n)" (e.g. once the session ended). */
  show(members: readonly MemberRow[], title?: string): void {
    const sorted = [...members].sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
    this.title.textContent = title ?? `In the room (${members.length})`;
    replace(this.el, ...sorted.map((m) =>
      h("li", { "data-name": m.name, "data-member": m.memberId, class: m.self ? "self" : undefined },
        dot(colourOf(m.userId)), m.name, m.self ? " (you)" : "")));
  }
}
