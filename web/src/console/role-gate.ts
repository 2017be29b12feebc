// A panel the key's role may not read: the ops API answers 403 to a lower
// role (viewer < moderator < admin, docs/control.md), and the panel says so
// instead of failing on every refresh.
import { h } from "../common/dom.js";
import { ApiError } from "../common/http.js";
import type { Role } from "./ops-api.js";

export function isForbidden(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403;
}

/** "API keys need an admin key: this key's role is lower (the API answered 403)." */
export function forbiddenNote(what: string, role: Role): HTMLElement {
  return h("p", { class: "forbidden", "data-testid": "forbidden" }, `${what} need${what.endsWith("s") ? "" : "s"} ${role === "admin" ? "an" : "a"} ${role} key: this key's role is lower (the API answered 403).`);
}
