// The room's shared light: state key "light", value "on" or "off" (UTF-8),
// changed only by compare-and-set against the version this page saw, so two
// people flipping it at once cannot both win; the loser is told and sees the
// winner's state. A room that never had the key is lit.
import { h } from "../common/dom.js";

export const LIGHT_KEY = "light";

export interface LightEntry {
  value: Uint8Array;
  version: number;
}

const decoder = new TextDecoder();

export function lightIsOn(entry: LightEntry | undefined): boolean {
  return entry === undefined || decoder.decode(entry.value) !== "off";
}

export class LightSwitch {
  readonly el: HTMLElement;
  private readonly button = h("button", { type: "button", "data-testid": "light-switch" }, "…");
  private readonly note = h("span", { class: "note", role: "status" });
  private entry: LightEntry | undefined;

  constructor(flip: (next: "on" | "off", expectedVersion: number) => Promise<void>) {
    this.el = h("div", { class: "light" }, h("span", {}, "Shared light: "), this.button, this.note);
    this.button.addEventListener("click", () => {
      const next = lightIsOn(this.entry) ? "off" : "on";
      this.button.disabled = true;
      this.note.textContent = "";
      flip(next, this.entry?.version ?? 0)
        .catch((err: unknown) => {
          this.note.textContent = err instanceof Error && /VersionConflict/.test(`${(err as { code?: string }).code ?? ""}`)
            ? "someone flipped it first"
            : `not changed: ${err instanceof Error ? err.message : String(err)}`;
        })
        .finally(() => {
          this.button.disabled = false;
        });
    });
  }

  get on(): boolean {
    return lightIsOn(this.entry);
  }

  show(entry: LightEntry | undefined): void {
    this.entry = entry;
    const on = lightIsOn(entry);
    this.button.textContent = on ? "on — switch off" : "off — switch on";
    this.el.setAttribute("data-light", on ? "on" : "off");
    this.el.setAttribute("data-version", String(entry?.version ?? 0));
  }
}
