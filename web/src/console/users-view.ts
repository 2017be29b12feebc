// Users: find one by display-name prefix, device id or external identity
// (GET /v1/ops/users), then their page (GET /v1/ops/users/{id}): account,
// ban in force, current room and recent sessions (…/sessions), with kick
// (from the current room), mute, unmute (every room) and ban.
import { h, replace } from "../common/dom.js";
import { age, dateTime } from "../common/format.js";
import { ApiError } from "../common/http.js";
import { banUser, kickUser, muteUser, type Target } from "./moderation.js";
import type { OpsApi, SessionRecord, UserDetail, UserOut, UserSearchField } from "./ops-api.js";
import type { StatusLine } from "./status-line.js";

const RESULTS = 50;
const SESSIONS = 20;

export class UsersView {
  readonly el = h("section", { class: "panel", "data-testid": "users" });
  private readonly results = h("div", { class: "results", "data-testid": "user-results" });
  private readonly detail = h("div", { class: "user-detail", "data-testid": "user-detail" });
  private selected: string | null = null;

  constructor(
    private readonly api: OpsApi,
    private readonly status: StatusLine,
  ) {
    const field = h("select", { name: "field", "data-testid": "user-field" },
      h("option", { value: "name" }, "name starts with"),
      h("option", { value: "device" }, "device id"),
      h("option", { value: "identity" }, "identity (issuer|subject)"));
    const value = h("input", { name: "value", required: true, placeholder: "Alice", autocomplete: "off", "data-testid": "user-query" });
    const form = h("form", { class: "inline" }, field, value, h("button", { type: "submit", "data-testid": "user-search" }, "Find"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.search(field.value as UserSearchField, value.value.trim());
    });
    this.el.append(h("h2", {}, "Users"), form, this.results, this.detail);
  }

  /** Keeps the open user's page current (their room changes as they move). */
  async refresh(): Promise<void> {
    if (this.selected !== null) await this.show(this.selected);
  }

  private async search(field: UserSearchField, value: string): Promise<void> {
    if (!value) return;
    try {
      const page = await this.api.users(field, value, { limit: RESULTS });
      replace(this.results,
        h("table", {},
          h("thead", {}, h("tr", {}, ...["name", "user", "kind", "since"].map((t) => h("th", {}, t)))),
          h("tbody", {}, ...page.items.map((u) => this.row(u)))));
      if (!page.items.length) this.results.append(h("p", {}, `no user with ${field} ${field === "name" ? "starting with" : "="} “${value}”`));
      if (page.next !== null) this.results.append(h("p", {}, `… more than ${RESULTS}; narrow the search`));
    } catch (err) {
      this.status.fail("find users", err);
    }
  }

  private row(u: UserOut): HTMLTableRowElement {
    return h("tr", { "data-user": u.id, "data-name": u.display_name, class: u.id === this.selected ? "selected" : undefined },
      h("td", {}, h("button", { class: "link", "data-testid": `user-${u.id}`, onclick: () => void this.select(u.id) }, u.display_name)),
      h("td", { class: "mono" }, u.id),
      h("td", {}, u.kind),
      h("td", {}, dateTime(u.created_at_ms)));
  }

  private async select(userId: string): Promise<void> {
    this.selected = userId;
    for (const tr of this.results.querySelectorAll("tr[data-user]")) tr.classList.toggle("selected", tr.getAttribute("data-user") === userId);
    try {
      await this.show(userId);
    } catch (err) {
      this.status.fail(`user ${userId}`, err);
    }
  }

  private async show(userId: string): Promise<void> {
    let d: UserDetail;
    try {
      d = await this.api.user(userId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        replace(this.detail, h("p", {}, `no user ${userId}`));
        this.selected = null;
        return;
      }
      throw err;
    }
    const sessions = (await this.api.sessions(userId, { limit: SESSIONS })).items;
    if (this.selected !== userId) return; // another user was opened meanwhile
    const t: Target = { userId, name: d.user.display_name };
    const room = d.room_id;
    const ban = d.ban;
    replace(this.detail,
      h("h3", {}, `${d.user.display_name} (${d.user.kind})`),
      h("dl", {},
        h("dt", {}, "user id"), h("dd", { class: "mono" }, userId),
        h("dt", {}, "room now"), h("dd", { "data-testid": "user-room" }, room ?? "not in a room"),
        h("dt", {}, "ban"), h("dd", { "data-testid": "user-ban" }, ban === null ? "none" : `${ban.reason} — ${ban.until_ms ? `until ${dateTime(ban.until_ms)}` : "permanent"} (by ${ban.by})`)),
      h("div", { class: "actions" },
        h("button", { "data-testid": "user-kick", disabled: room === null, title: room === null ? "not in a room" : `kick from ${room}`, onclick: () => room !== null && void this.act(`kick ${t.name}`, () => kickUser(this.api, room, t)) }, "Kick"),
        h("button", { "data-testid": "user-mute", onclick: () => void this.act(`mute ${t.name}`, () => muteUser(this.api, room, t)) }, "Mute"),
        h("button", { "data-testid": "user-unmute", onclick: () => void this.act(`unmute ${t.name}`, () => this.unmute(t)) }, "Unmute"),
        h("button", { class: "danger", "data-testid": "user-ban-button", onclick: () => void this.act(`ban ${t.name}`, () => banUser(this.api, t)) }, "Ban")),
      h("h4", {}, `Latest sessions (${sessions.length})`),
      h("table", { "data-testid": "user-sessions" },
        h("thead", {}, h("tr", {}, ...["joined", "room", "relay", "status", "left", "why", "for"].map((x) => h("th", {}, x)))),
        h("tbody", {}, ...sessions.map((s) => sessionRow(s)))));
  }

  private async unmute(t: Target): Promise<string> {
    const cmd = await this.api.unmute(t.userId, null);
    return `unmuted ${t.name} everywhere (command ${cmd.command_id})`;
  }

  private async act(what: string, run: () => Promise<string | null>): Promise<void> {
    try {
      const done = await run();
      if (done === null) return;
      this.status.ok(done);
      await this.refresh();
    } catch (err) {
      this.status.fail(what, err);
    }
  }
}

function sessionRow(s: SessionRecord): HTMLTableRowElement {
  return h("tr", { "data-session": s.id, "data-status": s.status ?? "" },
    h("td", {}, s.joined_at_ms ? dateTime(s.joined_at_ms) : "—"),
    h("td", {}, s.room_id),
    h("td", {}, s.relay_id),
    h("td", {}, s.status ?? "—"),
    h("td", {}, s.left_at_ms ? dateTime(s.left_at_ms) : "—"),
    h("td", {}, s.leave_reason ?? ""),
    h("td", {}, s.duration_ms ? age(s.duration_ms) : "—"));
}
