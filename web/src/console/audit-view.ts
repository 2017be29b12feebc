// The audit log (admin keys): every mutating call, newest first, with filters
// and "older" paging through the list's cursor.
import { h, replace } from "../common/dom.js";
import { dateTime } from "../common/format.js";
import type { AuditEntry, OpsApi } from "./ops-api.js";

export class AuditView {
  readonly el = h("section", { class: "panel", "data-testid": "audit" });
  private readonly body = h("tbody");
  private readonly action = h("input", { placeholder: "action (user.ban)", name: "action" });
  private readonly actor = h("input", { placeholder: "actor (key id or name)", name: "actor" });
  private readonly older = h("button", { type: "button", disabled: true }, "Older");
  private next: string | null = null;

  constructor(private readonly api: OpsApi) {
    const form = h("form", { class: "inline" }, this.action, this.actor, h("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.refresh();
    });
    this.older.addEventListener("click", () => void this.load(this.next, true));
    this.el.append(
      h("h2", {}, "Audit log"),
      form,
      h("table", {},
        h("thead", {}, h("tr", {}, ...["at", "actor", "action", "target", "status", "reason", "detail"].map((t) => h("th", {}, t)))),
        this.body),
      this.older,
    );
  }

  refresh(): Promise<void> {
    return this.load(null, false);
  }

  private async load(cursor: string | null, appendRows: boolean): Promise<void> {
    const page = await this.api.audit({
      limit: 50,
      cursor,
      action: this.action.value.trim(),
      actor: this.actor.value.trim(),
    });
    const rows = page.items.map((e) => this.row(e));
    if (appendRows) this.body.append(...rows);
    else replace(this.body, ...rows);
    this.next = page.next;
    this.older.disabled = page.next === null;
  }

  private row(e: AuditEntry): HTMLTableRowElement {
    const reason = e.reason ? `${e.reason}${e.duration_seconds ? ` (${e.duration_seconds} s)` : ""}` : "";
    return h("tr", { class: e.status >= 400 ? "refused" : undefined },
      h("td", {}, dateTime(e.at_ms)),
      h("td", { title: e.actor }, e.actor_name || e.actor),
      h("td", {}, e.action),
      h("td", { class: "mono" }, e.target),
      h("td", {}, `${e.status} ${e.result}`),
      h("td", {}, reason),
      h("td", {}, e.detail ?? ""));
  }
}
