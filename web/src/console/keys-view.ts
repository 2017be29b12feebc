// Operator API keys (admin): the list (GET /v1/ops/keys), create (POST; the
// key is shown this once, only its sha256 is stored) and revoke (DELETE;
// every control plane refuses it from its next request on).
import { h, replace } from "../common/dom.js";
import { dateTime } from "../common/format.js";
import type { ApiKeyOut, OpsApi, Role } from "./ops-api.js";
import { readAll } from "./paging.js";
import { forbiddenNote, isForbidden } from "./role-gate.js";
import type { StatusLine } from "./status-line.js";

export class KeysView {
  readonly el = h("section", { class: "panel", "data-testid": "keys" });
  private readonly body = h("tbody");
  private readonly created = h("div", { class: "created-key", "data-testid": "created-key", hidden: true });
  private allowed = true;

  constructor(
    private readonly api: OpsApi,
    private readonly status: StatusLine,
  ) {
    const name = h("input", { name: "name", required: true, maxlength: 64, pattern: "[\\w .@:/-]+", placeholder: "who holds it", autocomplete: "off", "data-testid": "key-name" });
    const role = h("select", { name: "role", "data-testid": "key-role" }, ...["viewer", "moderator", "admin"].map((r) => h("option", { value: r }, r)));
    const form = h("form", { class: "inline" }, name, role, h("button", { type: "submit", "data-testid": "key-create" }, "Create key"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.create(name.value.trim(), role.value as Role).then((ok) => {
        if (ok) name.value = "";
      });
    });
    this.el.append(
      h("h2", {}, "API keys"),
      form,
      this.created,
      h("table", {},
        h("thead", {}, h("tr", {}, ...["id", "name", "role", "state", "created", "last used", ""].map((t) => h("th", {}, t)))),
        this.body),
    );
  }

  /** Reads the list; a 403 (a key below admin) replaces the panel by a note, once. */
  async refresh(): Promise<void> {
    if (!this.allowed) return;
    try {
      const { items, more } = await readAll((cursor) => this.api.keys({ cursor }));
      replace(this.body, ...items.map((k) => this.row(k)));
      if (more) this.body.append(h("tr", {}, h("td", { colspan: 7 }, "… more keys than shown")));
    } catch (err) {
      if (!isForbidden(err)) throw err;
      this.allowed = false;
      replace(this.el, h("h2", {}, "API keys"), forbiddenNote("API keys", "admin"));
    }
  }

  private row(k: ApiKeyOut): HTMLTableRowElement {
    return h("tr", { "data-key": k.id, "data-name": k.name, class: k.revoked ? "refused" : undefined },
      h("td", { class: "mono" }, k.id),
      h("td", {}, k.name),
      h("td", {}, k.role),
      h("td", {}, k.revoked ? "revoked" : "active"),
      h("td", {}, dateTime(k.created_at_ms)),
      h("td", {}, k.last_used_at_ms ? dateTime(k.last_used_at_ms) : "never"),
      h("td", {}, k.revoked ? "" : h("button", { class: "danger", "data-testid": `revoke-${k.id}`, onclick: () => void this.revoke(k) }, "Revoke")));
  }

  private async create(name: string, role: Role): Promise<boolean> {
    try {
      const k = await this.api.createKey(name, role);
      this.created.hidden = false;
      replace(this.created,
        h("p", {}, `Key ${k.id} (${k.role}) for “${k.name}”. Copy it now: it is shown only this once.`),
        h("code", { "data-testid": "created-key-value" }, k.key),
        h("button", { type: "button", onclick: () => { this.created.hidden = true; replace(this.created); } }, "Done, hide it"));
      this.status.ok(`created key ${k.id} (${k.role})`);
      await this.refresh();
      return true;
    } catch (err) {
      this.status.fail("create key", err);
      return false;
    }
  }

  private async revoke(k: ApiKeyOut): Promise<void> {
    if (!window.confirm(`Revoke key ${k.id} (${k.name}, ${k.role})? Every request with it is refused from now on.`)) return;
    try {
      await this.api.revokeKey(k.id);
      this.status.ok(`revoked key ${k.id}`);
      await this.refresh();
    } catch (err) {
      this.status.fail(`revoke ${k.id}`, err);
    }
  }
}
