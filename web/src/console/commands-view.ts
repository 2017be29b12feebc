// The latest commands (kick, mute, announce, drain, …) and how the relays
// answered: pending until a relay acknowledges, then ok / failed, expired
// past its deadline, or undeliverable when no relay was subscribed
// (GET /v1/ops/commands, newest first).
import { h, replace } from "../common/dom.js";
import { clock } from "../common/format.js";
import type { CommandStatus, OpsApi } from "./ops-api.js";

const SHOWN = 15;

export class CommandsView {
  readonly el = h("section", { class: "panel", "data-testid": "commands" });
  private readonly body = h("tbody");

  constructor(private readonly api: OpsApi) {
    this.el.append(
      h("h2", {}, "Latest commands"),
      h("table", {},
        h("thead", {}, h("tr", {}, ...["at", "kind", "relay", "ack", "relays answered", "affected", "detail"].map((t) => h("th", {}, t)))),
        this.body),
    );
  }

  async refresh(): Promise<void> {
    const page = await this.api.commands({ limit: SHOWN });
    replace(this.body, ...page.items.map((c) => this.row(c)));
    if (!page.items.length) this.body.append(h("tr", {}, h("td", { colspan: 7 }, "no command yet")));
  }

  private row(c: CommandStatus): HTMLTableRowElement {
    const ack = c.ack ?? "pending";
    const answered = `${c.relays_acked ?? 0}${c.receivers !== undefined && c.receivers >= 0 ? ` of ${c.receivers}` : ""}${c.relays_failed ? `, ${c.relays_failed} failed` : ""}`;
    return h("tr", { "data-command": c.command_id, "data-ack": ack },
      h("td", { title: c.command_id }, clock(c.at_ms)),
      h("td", {}, c.kind),
      h("td", {}, c.target_relay_id || "all"),
      h("td", { class: `ack ${ack}` }, ack),
      h("td", {}, answered),
      h("td", {}, c.affected ?? "—"),
      h("td", {}, c.ack_detail ?? ""));
  }
}
