// The operator API key lives in this tab's sessionStorage only: it is gone
// when the tab closes, is never put in a URL, and is never logged.

const KEY = "plaza.console.apiKey";
/** Plaza keys look like pk_<id>_<secret> (docs/operations.md). */
const SHAPE = /^pk_[A-Za-z0-9]+_[A-Za-z0-9_-]+$/;

export function loadKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

/** An error message for a key that cannot be a Plaza key, or null. */
export function keyProblem(key: string): string | null {
  if (!key) return "enter an operator API key";
  if (!SHAPE.test(key)) return "that is not a Plaza API key (pk_<id>_<secret>)";
  return null;
}
