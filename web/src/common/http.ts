// JSON over fetch to the control plane (same origin), with RFC 9457 problem
// details turned into one error type (docs/control.md "Errors").

/** A refused call: the problem's `status`, `code` (the `urn:plaza:problem:`
 * suffix, e.g. "forbidden") and `detail`; `retryAfterMs`: the body's
 * `retry_after_ms` (milliseconds, preferred), else Retry-After × 1000, else 0. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly retryAfterMs: number,
  ) {
    super(`${status} ${code}: ${detail}`);
    this.name = "ApiError";
  }
}

/** Every list endpoint's shape: pass `next` back as `cursor`; null = the end. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

/** "?a=1&b=x" from the defined, non-empty values of `q` ("" when none). */
export function queryString(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === "") continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** One request; resolves to the decoded JSON body (undefined for 204), rejects
 * with ApiError for any status ≥ 400 and with TypeError when the network fails. */
export async function requestJson<T>(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<T> {
  const init: RequestInit = { method, headers: { accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const resp = await fetch(path, init);
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  if (!resp.ok) throw problem(resp, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

function problem(resp: Response, text: string): ApiError {
  let code = "http-error";
  let detail = resp.statusText;
  let waitMs: number | null = null;
  try {
    const p = JSON.parse(text) as { type?: string; detail?: string; title?: string; retry_after_ms?: unknown };
    code = (p.type ?? "").replace(/^urn:plaza:problem:/, "") || code;
    detail = p.detail ?? p.title ?? detail;
    const ms = p.retry_after_ms;
    if (typeof ms === "number" && Number.isInteger(ms) && ms >= 1) waitMs = ms;
  } catch {
    // not JSON: keep the status text
  }
  if (waitMs === null) {
    const retry = Number(resp.headers.get("retry-after") ?? "0");
    waitMs = Number.isFinite(retry) && retry > 0 ? retry * 1000 : 0;
  }
  return new ApiError(resp.status, code, detail, waitMs);
}
