// Relays: load and state per relay, drain and undrain with a reason.
import { h, replace } from "../common/dom.js";
import { age, rate } from "../common/format.js";
import { askAction } from "./action-dialog.js";
import type { OpsApi, RelayInfo } from "./ops-api.js";
import { readAll } from "./paging.js";
import type { StatusLine } from "./status-line.js";

export class RelaysView {
  readonly el = h("section", { class: "panel", "data-testid": "relays" });
  private readonly body = h("tbody");

  constructor(
    private readonly api: OpsApi,
    private readonly status: StatusLine,
  ) {
    this.el.append(
      h("h2", {}, "Relays"),
      h("table", {},
        h("thead", {}, h("tr", {},
          ...["relay", "state", "connections", "rooms", "seats", "CPU", "egress", "up", "drain", ""].map((t) => h("th", {}, t)))),
        this.body),
    );
  }

  async refresh(): Promise<void> {
    const { items, more } = await readAll((cursor) => this.api.relays({ cursor }));
    replace(this.body, ...items.map((r) => this.row(r)));
    if (more) this.body.append(h("tr", {}, h("td", { colspan: 10 }, "… more relays than shown")));
    if (!items.length) this.body.append(h("tr", {}, h("td", { colspan: 10 }, "no live relay")));
  }

  private row(r: RelayInfo): HTMLTableRowElement {
    const load = r.capacity_connections ? ` / ${r.capacity_connections}` : "";
    const drained = r.drain_requested ?? false;
    return h("tr", { "data-relay": r.relay_id },
      h("td", { title: `${r.public_url}\nboot ${r.boot_id ?? "?"}\nbuild ${r.build}` }, r.relay_id),
      h("td", { class: `state ${r.state}` }, r.state),
      h("td", {}, `${r.connections}${load}`),
      h("td", {}, r.rooms),
      h("td", {}, r.seats ?? "—"),
      h("td", {}, `${r.cpu_percent.toFixed(0)} %`),
      h("td", {}, rate(r.egress_bytes_per_second)),
      h("td", {}, r.started_at_ms ? age(Date.now() - r.started_at_ms) : "—"),
      h("td", {}, drained ? `requested (boot ${r.drain_boot_id ?? "?"})` : "—"),
      h("td", {},
        h("button", { class: "danger", "data-testid": `drain-${r.relay_id}`, onclick: () => void this.drain(r.relay_id) }, "Drain"),
        h("button", { "data-testid": `undrain-${r.relay_id}`, onclick: () => void this.undrain(r.relay_id) }, "Undrain")),
    );
  }

  private async drain(relayId: string): Promise<void> {
    const v = await askAction(`Drain ${relayId}`, "Drain", [
      { name: "reason", label: "Reason", kind: "text", required: true },
      { name: "deadline", label: "Deadline (seconds, empty = relay default)", kind: "number" },
    ]);
    if (!v) return;
    try {
      const deadline = Number(v["deadline"] || "0");
      const cmd = await this.api.drain(relayId, v["reason"] ?? "", deadline > 0 ? deadline : undefined);
      this.status.ok(`drain of ${relayId} sent (command ${cmd.command_id}, ${cmd.ack})`);
      await this.refresh();
    } catch (err) {
      this.status.fail(`drain ${relayId}`, err);
    }
  }

  private async undrain(relayId: string): Promise<void> {
    const v = await askAction(`Undrain ${relayId}`, "Undrain", [
      { name: "reason", label: "Reason", kind: "text", required: true },
    ]);
    if (!v) return;
    try {
      const out = await this.api.undrain(relayId, v["reason"] ?? "");
      this.status.ok(out.undrained ? `${relayId} undrained` : `${relayId} had no drain mark`);
      await this.refresh();
    } catch (err) {
      this.status.fail(`undrain ${relayId}`, err);
    }
  }
}
