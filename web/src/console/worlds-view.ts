// Worlds: the world templates (GET /v1/ops/worlds) and one world's settings
// (GET /v1/ops/worlds/{id}). Read only: world changes are admin API calls
// (docs/control.md), not console pages.
import { h, replace } from "../common/dom.js";
import { dateTime } from "../common/format.js";
import type { OpsApi, World } from "./ops-api.js";
import { readAll } from "./paging.js";
import type { StatusLine } from "./status-line.js";

export class WorldsView {
  readonly el = h("section", { class: "panel", "data-testid": "worlds" });
  private readonly body = h("tbody");
  private readonly detail = h("div", { class: "world-detail", "data-testid": "world-detail" });
  private selected: string | null = null;

  constructor(
    private readonly api: OpsApi,
    private readonly status: StatusLine,
  ) {
    this.el.append(
      h("h2", {}, "Worlds"),
      h("table", {},
        h("thead", {}, h("tr", {}, ...["world", "name", "version", "room capacity", "tick rate", "updated"].map((t) => h("th", {}, t)))),
        this.body),
      this.detail,
    );
  }

  async refresh(): Promise<void> {
    const { items, more } = await readAll((cursor) => this.api.worlds({ cursor }));
    replace(this.body, ...items.map((w) => this.row(w)));
    if (more) this.body.append(h("tr", {}, h("td", { colspan: 6 }, "… more worlds than shown")));
    if (!items.length) this.body.append(h("tr", {}, h("td", { colspan: 6 }, "no world")));
  }

  private row(w: World): HTMLTableRowElement {
    return h("tr", { "data-world": w.id, class: w.id === this.selected ? "selected" : undefined },
      h("td", {}, h("button", { class: "link", "data-testid": `world-${w.id}`, onclick: () => void this.show(w.id) }, w.id)),
      h("td", {}, w.name),
      h("td", {}, w.version),
      h("td", {}, w.settings["room_capacity"] ?? "—"),
      h("td", {}, w.settings["tick_rate_hz"] === undefined ? "—" : `${w.settings["tick_rate_hz"]} Hz`),
      h("td", {}, dateTime(w.updated_at_ms)));
  }

  private async show(worldId: string): Promise<void> {
    this.selected = worldId;
    for (const tr of this.body.querySelectorAll("tr")) tr.classList.toggle("selected", tr.getAttribute("data-world") === worldId);
    try {
      const w = await this.api.world(worldId);
      const settings = Object.entries(w.settings).sort(([a], [b]) => a.localeCompare(b));
      replace(this.detail,
        h("h3", {}, `${w.id} — ${w.name} (version ${w.version}, created ${dateTime(w.created_at_ms)})`),
        h("table", {}, h("tbody", {}, ...settings.map(([k, v]) => h("tr", { "data-setting": k }, h("td", { class: "mono" }, k), h("td", {}, String(v)))))));
    } catch (err) {
      this.status.fail(`world ${worldId}`, err);
    }
  }
}
