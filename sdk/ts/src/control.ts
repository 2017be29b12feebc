// The control plane's player HTTP API (docs/control.md "HTTP API"): sign-in,
// refresh, logout and join. Answers of 400 or more are RFC 9457 problems;
// 409 room-full, 429 and 503 carry Retry-After (whole seconds) and, in the
// body, retry_after_ms (milliseconds), which a client prefers.
import { refusalWaitMs } from "./backoff.js";
import { PlazaError, type Problem } from "./errors.js";

/** A signed-in player (POST /v1/auth/guest | external | refresh). */
export interface Account {
  userId: string;
  displayName: string;
  /** Bearer token for /v1/join and chat history. */
  sessionToken: string;
  /** Unix seconds. */
  sessionExpiresAt: number;
  refreshToken: string;
  /** Unix seconds. */
  refreshExpiresAt: number;
  /** True when this sign-in made the user. */
  created: boolean;
}

/** The room settings a join answers (the world's `WorldSettings`, snake_case as sent). */
export type RoomSettings = Record<string, number>;

/** POST /v1/join's answer. */
export interface JoinAnswer {
  roomId: string;
  worldId: string;
  relayId: string;
  /** The relay's WebSocket URL. */
  relayUrl: string;
  region: string;
  /** Single use, ~30 s: connect at once. */
  ticket: string;
  ticketExpiresAt: number;
  worldVersion: number;
  roomLifetime: number;
  created: boolean;
  settings: RoomSettings;
}

export interface JoinRequest {
  world: string;
  room?: string;
  region?: string;
  /** The previous relay session id, when rejoining after a drain or failure. */
  resumeSessionId?: string;
}

export interface GuestSignIn {
  deviceId: string;
  displayName: string;
}

export interface ExternalSignIn {
  idToken: string;
  displayName?: string;
}

type FetchLike = (input: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** One stored chat line (GET /v1/rooms/{room}/chat). */
export interface ChatHistoryLine {
  sequence: number;
  userId: string;
  displayName: string;
  text: string;
  occurredAtMs: number;
}

export interface ChatHistoryQuery {
  /** "newest" (default) or "oldest" first. */
  order?: "newest" | "oldest";
  /** A page's `next`, passed back unchanged with the same order. */
  cursor?: string;
  /** 1..200; the control plane's default is 50. */
  limit?: number;
}

/** A page of chat history of the room's current lifetime. */
export interface ChatHistoryPage {
  roomId: string;
  roomLifetime: number;
  order: "newest" | "oldest";
  items: ChatHistoryLine[];
  /** null at the end. */
  next: string | null;
}

/** HTTP status codes whose answers carry Retry-After and may be retried (protocol.md §8). */
export const RETRYABLE_STATUSES: readonly number[] = [409, 429, 503];

export class ControlApi {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly fetchImpl: FetchLike,
  ) {
    if (!/^https?:\/\//.test(baseUrl)) {
      throw new PlazaError("invalid_input", `controlUrl must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
    }
    this.base = baseUrl.replace(/\/+$/, "");
  }

  async signInGuest(g: GuestSignIn): Promise<Account> {
    return toAccount(await this.post("/v1/auth/guest", { device_id: g.deviceId, display_name: g.displayName }));
  }

  async signInExternal(e: ExternalSignIn): Promise<Account> {
    const body: Record<string, unknown> = { id_token: e.idToken };
    if (e.displayName !== undefined) body["display_name"] = e.displayName;
    return toAccount(await this.post("/v1/auth/external", body));
  }

  async refresh(refreshToken: string): Promise<Account> {
    return toAccount(await this.post("/v1/auth/refresh", { refresh_token: refreshToken }));
  }

  async logout(refreshToken: string): Promise<void> {
    await this.post("/v1/auth/logout", { refresh_token: refreshToken });
  }

  async join(sessionToken: string, r: JoinRequest): Promise<JoinAnswer> {
    const body: Record<string, unknown> = { world_id: r.world };
    if (r.room !== undefined) body["room_id"] = r.room;
    if (r.region !== undefined) body["region"] = r.region;
    if (r.resumeSessionId !== undefined && r.resumeSessionId !== "") body["resume_session_id"] = r.resumeSessionId;
    const j = (await this.post("/v1/join", body, sessionToken)) as Record<string, unknown>;
    const answer: JoinAnswer = {
      roomId: str(j, "room_id"),
      worldId: str(j, "world_id"),
      relayId: str(j, "relay_id"),
      relayUrl: str(j, "relay_url"),
      region: str(j, "region"),
      ticket: str(j, "ticket"),
      ticketExpiresAt: num(j, "ticket_expires_at"),
      worldVersion: num(j, "world_version"),
      roomLifetime: num(j, "room_lifetime"),
      created: j["created"] === true,
      settings: (typeof j["settings"] === "object" && j["settings"] !== null ? j["settings"] : {}) as RoomSettings,
    };
    if (answer.relayUrl === "" || answer.ticket === "") {
      throw new PlazaError("http", "join answer lacks relay_url or ticket", { status: 200 });
    }
    return answer;
  }

  /**
   * GET /v1/rooms/{room}/chat: the history of the room the session holds a
   * seat in (chat the relay does not replay after a reconnect, protocol.md §8).
   * Lines appear once the control plane consumed the relays' event stream
   * (usually well under a second after the broadcast).
   */
  async chatHistory(sessionToken: string, roomId: string, q: ChatHistoryQuery = {}): Promise<ChatHistoryPage> {
    const params = new URLSearchParams();
    if (q.order !== undefined) params.set("order", q.order);
    if (q.cursor !== undefined) params.set("cursor", q.cursor);
    if (q.limit !== undefined) params.set("limit", String(q.limit));
    const qs = params.toString();
    const path = `/v1/rooms/${encodeURIComponent(roomId)}/chat${qs === "" ? "" : `?${qs}`}`;
    const o = (await this.request("GET", path, undefined, sessionToken)) as Record<string, unknown>;
    const items = Array.isArray(o["items"]) ? (o["items"] as Record<string, unknown>[]) : [];
    return {
      roomId: str(o, "room_id"),
      roomLifetime: num(o, "room_lifetime"),
      order: o["order"] === "oldest" ? "oldest" : "newest",
      items: items.map((i) => ({
        sequence: num(i, "sequence"),
        userId: str(i, "user_id"),
        displayName: str(i, "display_name"),
        text: str(i, "text"),
        occurredAtMs: num(i, "occurred_at_ms"),
      })),
      next: typeof o["next"] === "string" ? o["next"] : null,
    };
  }

  private post(path: string, body: unknown, bearer?: string): Promise<unknown> {
    return this.request("POST", path, body, bearer);
  }

  /** Sends one request (JSON body when given); returns the decoded body (undefined for 204) or throws PlazaError{code: "http" | "network"}. */
  private async request(method: "GET" | "POST", path: string, body: unknown, bearer?: string): Promise<unknown> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (bearer !== undefined) headers["authorization"] = `Bearer ${bearer}`;
    let resp: Awaited<ReturnType<FetchLike>>;
    try {
      const init: { method: string; headers: Record<string, string>; body?: string } = { method, headers };
      if (body !== undefined) init.body = JSON.stringify(body);
      resp = await this.fetchImpl(this.base + path, init);
    } catch (err) {
      throw new PlazaError("network", `${method} ${path}: control plane unreachable at ${this.base}: ${String(err)}`, {
        cause: err,
      });
    }
    const text = await resp.text();
    if (!resp.ok) {
      let problem: Problem | undefined;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = undefined;
      }
      const ra = resp.headers.get("retry-after");
      const seconds = ra !== null && /^\d+$/.test(ra.trim()) ? Number(ra.trim()) : undefined;
      const what = problem?.type?.replace("urn:plaza:problem:", "") ?? "";
      const detail = problem?.detail ?? text.slice(0, 200);
      const details: ConstructorParameters<typeof PlazaError>[2] = { status: resp.status };
      if (problem !== undefined) details.problem = problem;
      if (seconds !== undefined) details.retryAfterSeconds = seconds;
      const waitMs = refusalWaitMs(problem, ra);
      if (waitMs > 0) details.retryAfterMs = waitMs;
      throw new PlazaError("http", `${method} ${path}: ${resp.status} ${what}: ${detail}`.trim(), details);
    }
    if (resp.status === 204 || text === "") return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new PlazaError("http", `${method} ${path}: answer is not JSON`, { status: resp.status, cause: err });
    }
  }
}

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  return typeof v === "string" ? v : "";
}

function num(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  return typeof v === "number" ? v : 0;
}

function toAccount(body: unknown): Account {
  const o = (body ?? {}) as Record<string, unknown>;
  const a: Account = {
    userId: str(o, "user_id"),
    displayName: str(o, "display_name"),
    sessionToken: str(o, "session_token"),
    sessionExpiresAt: num(o, "session_expires_at"),
    refreshToken: str(o, "refresh_token"),
    refreshExpiresAt: num(o, "refresh_expires_at"),
    created: o["created"] === true,
  };
  if (a.sessionToken === "") throw new PlazaError("http", "sign-in answer has no session_token", { status: 200 });
  return a;
}
