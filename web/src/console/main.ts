// The ops console (/console/): asks for an operator API key, keeps it in
// sessionStorage, then shows relays, rooms and members, users (search, their
// sessions and room), worlds, announcements, the latest commands and their
// acks, bans, API keys and the audit log, refreshed every few seconds. Ops API only.
import "./console.css";
import { byId, h, replace } from "../common/dom.js";
import { ApiError } from "../common/http.js";
import { AnnounceView } from "./announce-view.js";
import { AuditView } from "./audit-view.js";
import { BansView } from "./bans-view.js";
import { CommandsView } from "./commands-view.js";
import { KeysView } from "./keys-view.js";
import { forgetKey, keyProblem, loadKey, saveKey } from "./key-store.js";
import { OpsApi } from "./ops-api.js";
import { RelaysView } from "./relays-view.js";
import { RoomsView } from "./rooms-view.js";
import { forbiddenNote, isForbidden } from "./role-gate.js";
import { UsersView } from "./users-view.js";
import { WorldsView } from "./worlds-view.js";
import { describe, StatusLine } from "./status-line.js";

const REFRESH_MS = 3000;
const app = byId("app");

function showKeyForm(message = ""): void {
  const input = h("input", {
    type: "password",
    name: "api-key",
    autocomplete: "off",
    placeholder: "pk_…",
    "data-testid": "api-key",
  });
  const error = h("p", { class: "error", role: "alert", "data-testid": "key-error" }, message);
  const form = h("form", { class: "key" },
    h("h2", {}, "Operator sign-in"),
    h("p", {}, "Enter an operator API key (viewer, moderator or admin). It is kept in this tab only and sent in the X-API-Key header."),
    input,
    h("button", { type: "submit", "data-testid": "key-submit" }, "Open console"),
    error);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    const problem = keyProblem(key);
    if (problem) {
      error.textContent = problem;
      return;
    }
    void open(key, (msg) => {
      error.textContent = msg;
    });
  });
  replace(app, form);
  input.focus();
}

async function open(key: string, onRefused: (msg: string) => void): Promise<void> {
  const api = new OpsApi(key);
  try {
    await api.relays({ limit: 1 });
  } catch (err) {
    forgetKey();
    onRefused(err instanceof ApiError && err.status === 401 ? "the key was refused (unknown or revoked)" : describe(err));
    return;
  }
  saveKey(key);
  showConsole(api);
}

function showConsole(api: OpsApi): void {
  const status = new StatusLine(h("p", { class: "status", role: "status", "data-testid": "status" }));
  const relays = new RelaysView(api, status);
  const rooms = new RoomsView(api, status);
  const bans = new BansView(api, status);
  const commands = new CommandsView(api);
  const audit = new AuditView(api);
  const users = new UsersView(api, status);
  const worlds = new WorldsView(api, status);
  const keys = new KeysView(api, status);
  const announce = new AnnounceView(api, status);
  const updated = h("span", { class: "updated" });
  const signOut = h("button", { type: "button", onclick: () => { forgetKey(); location.reload(); } }, "Forget key");
  replace(app,
    h("header", {}, h("h1", {}, "Plaza ops console"), updated, signOut),
    status.el, relays.el, rooms.el, users.el, worlds.el, announce.el, commands.el, bans.el, keys.el, audit.el);

  let auditAllowed = true;
  const tick = async (): Promise<void> => {
    try {
      await Promise.all([relays.refresh(), rooms.refresh(), users.refresh(), worlds.refresh(), commands.refresh(), bans.refresh(), keys.refresh()]);
      if (auditAllowed) {
        await audit.refresh().catch((err: unknown) => {
          if (isForbidden(err)) {
            auditAllowed = false;
            replace(audit.el, h("h2", {}, "Audit log"), forbiddenNote("The audit log", "admin"));
            return;
          }
          throw err;
        });
      }
      updated.textContent = `updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        forgetKey();
        showKeyForm("the key is no longer accepted (revoked?)");
        return;
      }
      status.fail("refresh", err);
    }
    timer = window.setTimeout(() => void tick(), REFRESH_MS);
  };
  let timer = window.setTimeout(() => void tick(), 0);
  window.addEventListener("pagehide", () => window.clearTimeout(timer));
}

const saved = loadKey();
if (saved) void open(saved, showKeyForm);
else showKeyForm();
