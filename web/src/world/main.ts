// The world (/play/): pick a display name, sign in as a guest, join a room of
// the world (?world=, default "lobby"; ?room= for a given room), then play.
import "./world.css";
import { PlazaClient, PlazaError } from "@plaza/sdk";
import { byId, h, replace } from "../common/dom.js";
import { deviceId, nameProblem, saveName, savedName } from "./identity.js";
import { WorldPage } from "./world-page.js";

const CLIENT_VERSION = "plaza-web/0.1.0";
const app = byId("app");
const params = new URLSearchParams(location.search);
const world = params.get("world") || "lobby";
const room = params.get("room") || undefined;

function showJoinForm(message = ""): void {
  const name = h("input", { name: "display-name", value: savedName(), maxlength: 32, autocomplete: "nickname", "data-testid": "display-name" });
  const error = h("p", { class: "error", role: "alert", "data-testid": "join-error" }, message);
  const button = h("button", { type: "submit", "data-testid": "join" }, "Enter");
  const form = h("form", { class: "join" },
    h("h1", {}, "Plaza"),
    h("p", {}, `Walk around ${room ? `room ${room}` : `world “${world}”`} with everyone else who is here. WASD or arrow keys walk, a click walks there.`),
    h("label", {}, "Display name ", name),
    button,
    error);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const n = name.value.trim().replace(/\s+/g, " ");
    const problem = nameProblem(n);
    if (problem) {
      error.textContent = problem;
      return;
    }
    button.disabled = true;
    error.textContent = "joining…";
    void enter(n).catch((err: unknown) => {
      button.disabled = false;
      error.textContent = err instanceof PlazaError && err.problem?.detail ? err.problem.detail : String(err instanceof Error ? err.message : err);
    });
  });
  replace(app, form);
  name.focus();
}

async function enter(displayName: string): Promise<void> {
  const client = new PlazaClient({ controlUrl: location.origin, clientVersion: CLIENT_VERSION });
  await client.signInGuest({ deviceId: deviceId(), displayName });
  saveName(displayName);
  const page = new WorldPage(client);
  (window as unknown as { plazaWorld: WorldPage }).plazaWorld = page;
  const target = room ? { world, room } : { world };
  await client.join(target);
  replace(app, page.el);
  page.start();
}

showJoinForm();
