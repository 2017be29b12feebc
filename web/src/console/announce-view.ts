// Announcements to a room, a world or everyone (POST /v1/ops/announce).
import { h } from "../common/dom.js";
import type { AnnounceScope, OpsApi } from "./ops-api.js";
import type { StatusLine } from "./status-line.js";

export class AnnounceView {
  readonly el = h("section", { class: "panel", "data-testid": "announce" });

  constructor(api: OpsApi, status: StatusLine) {
    const scope = h("select", { name: "scope" },
      h("option", { value: "everyone" }, "everyone"),
      h("option", { value: "world" }, "a world"),
      h("option", { value: "room" }, "a room"));
    const target = h("input", { name: "target", placeholder: "world or room id", disabled: true });
    const text = h("input", { name: "text", placeholder: "what players see", required: true, maxlength: 500 });
    scope.addEventListener("change", () => {
      target.disabled = scope.value === "everyone";
    });
    const form = h("form", { class: "inline" },
      h("label", {}, "To ", scope), target, text, h("button", { type: "submit" }, "Announce"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const s = scope.value as AnnounceScope;
      if (s !== "everyone" && !target.value.trim()) {
        status.fail("announce", new Error(`name the ${s}`));
        return;
      }
      api.announce(s, text.value.trim(), s === "everyone" ? null : target.value.trim())
        .then((cmd) => {
          status.ok(`announcement sent (command ${cmd.command_id}, ${cmd.receivers ?? "?"} relay processes)`);
          text.value = "";
        })
        .catch((err: unknown) => status.fail("announce", err));
    });
    this.el.append(h("h2", {}, "Announcement"), form);
  }
}
