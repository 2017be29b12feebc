// Bans in force (GET /v1/ops/bans), with unban (moderator).
import { h, replace } from "../common/dom.js";
import { dateTime } from "../common/format.js";
import type { Ban, OpsApi } from "./ops-api.js";
import { readAll } from "./paging.js";
import type { StatusLine } from "./status-line.js";

export class BansView {
  readonly el = h("section", { class: "panel", "data-testid": "bans" });
  private readonly body = h("tbody");

  constructor(
    private readonly api: OpsApi,
    private readonly status: StatusLine,
  ) {
    this.el.append(
      h("h2", {}, "Bans in force"),
      h("table", {},
        h("thead", {}, h("tr", {}, ...["user", "reason", "until", "by", "since", ""].map((t) => h("th", {}, t)))),
        this.body),
    );
  }

  async refresh(): Promise<void> {
    const { items, more } = await readAll((cursor) => this.api.bans({ cursor }));
    replace(this.body, ...items.map((b) => this.row(b)));
    if (more) this.body.append(h("tr", {}, h("td", { colspan: 6 }, "… more bans than shown")));
    if (!items.length) this.body.append(h("tr", {}, h("td", { colspan: 6 }, "nobody is banned")));
  }

  private row(b: Ban): HTMLTableRowElement {
    return h("tr", { "data-user": b.user_id },
      h("td", { class: "mono" }, b.user_id),
      h("td", {}, b.reason),
      h("td", {}, b.until_ms ? dateTime(b.until_ms) : "permanent"),
      h("td", { class: "mono" }, b.by),
      h("td", {}, dateTime(b.at_ms)),
      h("td", {}, h("button", { onclick: () => void this.unban(b.user_id) }, "Unban")));
  }

  private async unban(userId: string): Promise<void> {
    try {
      await this.api.unban(userId);
      this.status.ok(`unbanned ${userId}`);
      await this.refresh();
    } catch (err) {
      this.status.fail(`unban ${userId}`, err);
    }
  }
}
