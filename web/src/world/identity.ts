// Who this tab plays as: a guest device id and a display name, kept in
// sessionStorage so a reload is the same player and a second tab is another
// one (two tabs = two avatars to watch each other).

const DEVICE = "plaza.world.deviceId";
const NAME = "plaza.world.displayName";

/** The control plane's device id rule: [A-Za-z0-9_-]{16,128}. */
export function deviceId(): string {
  let id = sessionStorage.getItem(DEVICE);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(DEVICE, id);
  }
  return id;
}

export function savedName(): string {
  return sessionStorage.getItem(NAME) ?? `Guest-${Math.floor(1000 + Math.random() * 9000)}`;
}

export function saveName(name: string): void {
  sessionStorage.setItem(NAME, name);
}

/** The first check of the control plane's rule (2-32 characters; it also
 * refuses control characters and odd spacing, and says why). */
export function nameProblem(name: string): string | null {
  const n = [...name].length;
  if (n < 2 || n > 32) return "a display name has 2 to 32 characters";
  return null;
}
