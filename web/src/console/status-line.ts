// The console's one status line: what the last action did, or why it failed.
import { ApiError } from "../common/http.js";

export class StatusLine {
  constructor(readonly el: HTMLElement) {}

  ok(text: string): void {
    this.el.className = "status ok";
    this.el.textContent = text;
  }

  fail(what: string, err: unknown): void {
    this.el.className = "status error";
    this.el.textContent = `${what} failed: ${describe(err)}`;
  }
}

export function describe(err: unknown): string {
  if (err instanceof ApiError && err.status === 403) return `403 — your key's role does not allow this (${err.detail})`;
  if (err instanceof ApiError) return `${err.status} ${err.code} — ${err.detail}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
