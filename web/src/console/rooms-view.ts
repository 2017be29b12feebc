// Rooms and their members: kick, mute and ban a member with a reason (mute
// and ban with a duration), close a room, announce into it.
import { h, replace } from "../common/dom.js";
import { age, clock } from "../common/format.js";
import { ApiError } from "../common/http.js";
import { askAction } from "./action-dialog.js";
import { banUser, kickUser, muteUser } from "./moderation.js";
import type { OpsApi, RoomInfo, RoomMember } from "./ops-api.js";
import { readAll } from "./paging.js";
import type { StatusLine } from "./status-line.js";

export class RoomsView {
  readonly el = h("section", { class: "panel", "data-testid": "rooms" });
  private readonly body = h("tbody");
  private readonly membersEl = h("div", { class: "members", "data-testid": "members" });
  private selected: string | null = null;

  constructor(
    private readonly api: OpsApi,
    private readonly status: StatusLine,
  ) {
    this.el.append(
      h("h2", {}, "Rooms"),
      h("table", {},
        h("thead", {}, h("tr", {},
          ...["room", "world", "relay", "seats", "lifetime", "open for", ""].map((t) => h("th", {}, t)))),
        this.body),
      this.membersEl,
    );
  }

  async refresh(): Promise<void> {
    const { items, more } = await readAll((cursor) => this.api.rooms({ cursor }));
    items.sort((a, b) => a.room_id.localeCompare(b.room_id));
    replace(this.body, ...items.map((r) => this.row(r)));
    if (more) this.body.append(h("tr", {}, h("td", { colspan: 7 }, "… more rooms than shown")));
    if (!items.length) this.body.append(h("tr", {}, h("td", { colspan: 7 }, "no open room")));
    if (this.selected) await this.showMembers(this.selected);
  }

  private row(r: RoomInfo): HTMLTableRowElement {
    return h("tr", { "data-room": r.room_id, class: r.room_id === this.selected ? "selected" : undefined },
      h("td", {}, h("button", { class: "link", "data-testid": `room-${r.room_id}`, onclick: () => void this.select(r.room_id) }, r.room_id)),
      h("td", {}, r.world_id),
      h("td", {}, r.relay_id),
      h("td", {}, r.seats),
      h("td", {}, r.lifetime ?? "—"),
      h("td", {}, age(Date.now() - r.created_at_ms)),
      h("td", {},
        h("button", { "data-testid": "announce-room", onclick: () => void this.announce(r.room_id) }, "Announce"),
        h("button", { class: "danger", onclick: () => void this.close(r.room_id) }, "Close")),
    );
  }

  private async select(roomId: string): Promise<void> {
    this.selected = roomId;
    for (const tr of this.body.querySelectorAll("tr")) {
      tr.classList.toggle("selected", tr.getAttribute("data-room") === roomId);
    }
    await this.showMembers(roomId);
  }

  private async showMembers(roomId: string): Promise<void> {
    let members: RoomMember[];
    try {
      members = (await readAll((cursor) => this.api.members(roomId, { cursor }))).items;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        replace(this.membersEl, h("p", {}, `${roomId} is not open any more.`));
        this.selected = null;
        return;
      }
      throw err;
    }
    members.sort((a, b) => a.display_name.localeCompare(b.display_name));
    replace(this.membersEl,
      h("h3", {}, `Members of ${roomId} (${members.length})`),
      h("table", {},
        h("thead", {}, h("tr", {}, ...["name", "user", "seat", "joined", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, ...members.map((m) => this.memberRow(roomId, m)))));
  }

  private memberRow(roomId: string, m: RoomMember): HTMLTableRowElement {
    const seat = m.confirmed ? "in the room" : `reserved until ${clock(m.expires_at_ms)}`;
    return h("tr", { "data-user": m.user_id, "data-name": m.display_name },
      h("td", {}, m.display_name),
      h("td", { class: "mono" }, m.user_id),
      h("td", {}, seat),
      h("td", {}, clock(m.joined_at_ms)),
      h("td", {},
        h("button", { "data-testid": `kick-${m.display_name}`, onclick: () => void this.kick(roomId, m) }, "Kick"),
        h("button", { onclick: () => void this.mute(roomId, m) }, "Mute"),
        h("button", { class: "danger", onclick: () => void this.ban(m) }, "Ban")),
    );
  }

  private async kick(roomId: string, m: RoomMember): Promise<void> {
    await this.act(`kick ${m.display_name}`, () => kickUser(this.api, roomId, { userId: m.user_id, name: m.display_name }));
  }

  private async mute(roomId: string, m: RoomMember): Promise<void> {
    await this.act(`mute ${m.display_name}`, () => muteUser(this.api, roomId, { userId: m.user_id, name: m.display_name }));
  }

  private async ban(m: RoomMember): Promise<void> {
    await this.act(`ban ${m.display_name}`, () => banUser(this.api, { userId: m.user_id, name: m.display_name }));
  }

  private async close(roomId: string): Promise<void> {
    const v = await askAction(`Close ${roomId}`, "Close room", [
      { name: "reason", label: "Reason", kind: "text", required: true },
    ]);
    if (!v) return;
    await this.act(`close ${roomId}`, async () => {
      await this.api.closeRoom(roomId, v["reason"] ?? "");
      return `closed ${roomId}`;
    });
  }

  private async announce(roomId: string): Promise<void> {
    const v = await askAction(`Announce in ${roomId}`, "Announce", [
      { name: "text", label: "Text", kind: "text", required: true },
    ]);
    if (!v) return;
    await this.act(`announce in ${roomId}`, async () => {
      const cmd = await this.api.announce("room", v["text"] ?? "", roomId);
      return `announced in ${roomId} (command ${cmd.command_id})`;
    });
  }

  private async act(what: string, run: () => Promise<string | null>): Promise<void> {
    try {
      const done = await run();
      if (done === null) return; // cancelled
      this.status.ok(done);
      await this.refresh();
    } catch (err) {
      this.status.fail(what, err);
    }
  }
}
