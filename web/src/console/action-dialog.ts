// One modal form for every operator action that needs a reason (and for some
// a duration): drain, undrain, kick, mute, ban, close. Resolves to the values
// entered, or null when cancelled.
import { h } from "../common/dom.js";

export interface ActionField {
  name: string;
  label: string;
  kind: "text" | "duration" | "number" | "checkbox";
  required?: boolean;
  value?: string;
  /** For "duration": what 0 is called (default "permanent"). */
  zeroLabel?: string;
}

/** Durations offered for mute and ban; 0 = permanent / until lifted. */
export const DURATIONS: ReadonlyArray<[string, number]> = [
  ["5 minutes", 300],
  ["1 hour", 3600],
  ["1 day", 86400],
  ["7 days", 604800],
  ["permanent", 0],
];

export function askAction(
  title: string,
  confirmLabel: string,
  fields: ActionField[],
): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
    const rows = fields.map((f) => {
      let input: HTMLInputElement | HTMLSelectElement;
      if (f.kind === "duration") {
        input = h("select", { name: f.name, "data-testid": `action-${f.name}` },
          ...DURATIONS.map(([label, secs]) => h("option", { value: String(secs) }, secs === 0 ? (f.zeroLabel ?? label) : label)));
        if (f.value) input.value = f.value;
      } else if (f.kind === "checkbox") {
        input = h("input", { type: "checkbox", name: f.name, "data-testid": `action-${f.name}` });
        input.checked = f.value === "true";
      } else {
        input = h("input", {
          type: f.kind === "number" ? "number" : "text",
          name: f.name,
          required: f.required ?? false,
          maxlength: 256,
          value: f.value ?? "",
          "data-testid": `action-${f.name}`,
        });
      }
      inputs.set(f.name, input);
      return h("label", {}, h("span", {}, f.label), input);
    });
    const error = h("p", { class: "error", role: "alert" });
    const dialog = h("dialog", { class: "action", "data-testid": "action-dialog" });
    const close = (v: Record<string, string> | null): void => {
      dialog.close();
      dialog.remove();
      resolve(v);
    };
    const form = h("form", { method: "dialog" },
      h("h3", {}, title),
      ...rows,
      error,
      h("div", { class: "buttons" },
        h("button", { type: "button", onclick: () => close(null) }, "Cancel"),
        h("button", { type: "submit", class: "danger", "data-testid": "action-confirm" }, confirmLabel)));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const out: Record<string, string> = {};
      for (const f of fields) {
        const input = inputs.get(f.name);
        if (!input) continue;
        const v = input instanceof HTMLInputElement && input.type === "checkbox"
          ? String(input.checked) : input.value.trim();
        if (f.required && !v) {
          error.textContent = `${f.label} is required`;
          return;
        }
        out[f.name] = v;
      }
      close(out);
    });
    dialog.addEventListener("cancel", () => resolve(null));
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    dialog.showModal();
    inputs.get(fields[0]?.name ?? "")?.focus();
  });
}
