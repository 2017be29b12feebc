// The ops API (docs/control.md "HTTP API", /schema/openapi.json), typed for
// what the console shows. Every call sends the operator key in X-API-Key;
// the key is never put in a URL.
import { requestJson, queryString, type Page, type Query } from "../common/http.js";

export interface RelayInfo {
  relay_id: string;
  public_url: string;
  region: string;
  state: string;
  capacity_connections: number;
  connections: number;
  rooms: number;
  cpu_percent: number;
  egress_bytes_per_second: number;
  sent_at_ms: number;
  build: string;
  started_at_ms: number;
  boot_id?: string;
  seats?: number;
  drain_requested?: boolean;
  drain_boot_id?: string;
}

export interface RoomInfo {
  room_id: string;
  world_id: string;
  relay_id: string;
  seats: number;
  created_at_ms: number;
  lifetime?: number;
}

export interface RoomMember {
  user_id: string;
  display_name: string;
  session_id: string;
  confirmed: boolean;
  joined_at_ms: number;
  expires_at_ms: number;
}

export interface AuditEntry {
  id: string;
  at_ms: number;
  actor: string;
  actor_name?: string;
  action: string;
  target: string;
  result: string;
  status: number;
  detail?: string;
  reason?: string;
  duration_seconds?: number | null;
  request_id?: string;
}

export interface CommandOut {
  command_id: string;
  kind: string;
  target_relay_id: string;
  ack: string;
  receivers?: number;
}

export interface Ban {
  user_id: string;
  reason: string;
  /** 0 = permanent. */
  until_ms: number;
  /** The key id that banned. */
  by: string;
  at_ms: number;
}

/** A command sent to relays and what they answered (docs/control.md). */
export interface CommandStatus {
  command_id: string;
  at_ms: number;
  issued_by: string;
  target_relay_id: string;
  kind: string;
  ack?: string;
  ack_detail?: string;
  receivers?: number;
  relays_acked?: number;
  relays_failed?: number;
  /** Sum of the relays' reported counts; null when none named one. */
  affected?: number | null;
}

export type AnnounceScope = "room" | "world" | "everyone";

export type Role = "viewer" | "moderator" | "admin";

/** A player account (`UserOut`). */
export interface UserOut {
  id: string;
  display_name: string;
  /** "guest" or "external". */
  kind: string;
  created_at_ms: number;
}

/** One user with their ban in force and current room (`UserDetail`). */
export interface UserDetail {
  user: UserOut;
  ban: Ban | null;
  room_id: string | null;
}

/** A session record (`SessionRecord`), newest first. */
export interface SessionRecord {
  id: string;
  user_id: string;
  room_id: string;
  world_id: string;
  relay_id: string;
  display_name?: string;
  member_id?: number;
  /** "active" or "completed". */
  status?: string;
  joined_at_ms?: number;
  left_at_ms?: number;
  leave_reason?: string;
  duration_ms?: number;
}

/** A world template (`World`); `settings` as docs/control.md lists them. */
export interface World {
  id: string;
  name: string;
  version: number;
  settings: Record<string, number>;
  created_at_ms: number;
  updated_at_ms: number;
}

/** An operator API key's record (`ApiKeyOut`): never the key or its hash. */
export interface ApiKeyOut {
  id: string;
  name: string;
  role: Role;
  created_at_ms: number;
  /** 0 = never. */
  last_used_at_ms: number;
  revoked: boolean;
}

/** `POST /v1/ops/keys`' answer: the record and the key, shown this once. */
export interface ApiKeyCreated extends ApiKeyOut {
  key: string;
}

/** How to find users: `GET /v1/ops/users?name=|device=|identity=`. */
export type UserSearchField = "name" | "device" | "identity";

export class OpsApi {
  constructor(private readonly key: string) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return requestJson<T>(method, path, { "x-api-key": this.key }, body);
  }

  relays(q: Query = {}): Promise<Page<RelayInfo>> {
    return this.call("GET", `/v1/ops/relays${queryString(q)}`);
  }
  rooms(q: Query = {}): Promise<Page<RoomInfo>> {
    return this.call("GET", `/v1/ops/rooms${queryString(q)}`);
  }
  members(roomId: string, q: Query = {}): Promise<Page<RoomMember>> {
    return this.call("GET", `/v1/ops/rooms/${encodeURIComponent(roomId)}/members${queryString(q)}`);
  }
  audit(q: Query = {}): Promise<Page<AuditEntry>> {
    return this.call("GET", `/v1/ops/audit${queryString(q)}`);
  }
  drain(relayId: string, reason: string, deadlineSeconds?: number): Promise<CommandOut> {
    const body = deadlineSeconds ? { reason, deadline_seconds: deadlineSeconds } : { reason };
    return this.call("POST", `/v1/ops/relays/${encodeURIComponent(relayId)}/drain`, body);
  }
  undrain(relayId: string, reason: string): Promise<{ relay_id: string; undrained: boolean }> {
    return this.call("POST", `/v1/ops/relays/${encodeURIComponent(relayId)}/undrain`, { reason });
  }
  kick(roomId: string, userId: string, reason: string): Promise<CommandOut> {
    return this.call("POST", `/v1/ops/rooms/${encodeURIComponent(roomId)}/kick`, { user_id: userId, reason });
  }
  /** `durationSeconds` 0 = until unmuted; `roomId` null = every room (broadcast). */
  mute(userId: string, reason: string, durationSeconds: number, roomId: string | null): Promise<CommandOut> {
    return this.call("POST", `/v1/ops/users/${encodeURIComponent(userId)}/mute`, {
      reason,
      duration_seconds: durationSeconds,
      room_id: roomId,
    });
  }
  /** `roomId` null = every room (broadcast); also ends the mute kept for later joins. */
  unmute(userId: string, roomId: string | null): Promise<CommandOut> {
    return this.call("POST", `/v1/ops/users/${encodeURIComponent(userId)}/unmute`, { room_id: roomId });
  }
  /** `durationSeconds` 0 = permanent. The ban also kicks the user from their room. */
  ban(userId: string, reason: string, durationSeconds: number): Promise<CommandOut | null> {
    return this.call("POST", `/v1/ops/users/${encodeURIComponent(userId)}/ban`, {
      reason,
      duration_seconds: durationSeconds,
    });
  }
  commands(q: Query = {}): Promise<Page<CommandStatus>> {
    return this.call("GET", `/v1/ops/commands${queryString(q)}`);
  }
  bans(q: Query = {}): Promise<Page<Ban>> {
    return this.call("GET", `/v1/ops/bans${queryString(q)}`);
  }
  unban(userId: string): Promise<void> {
    return this.call("DELETE", `/v1/ops/users/${encodeURIComponent(userId)}/ban`);
  }
  closeRoom(roomId: string, reason: string): Promise<CommandOut> {
    return this.call("POST", `/v1/ops/rooms/${encodeURIComponent(roomId)}/close`, { reason });
  }
  /** `name`: display-name prefix (case-sensitive); `device`: a device id; `identity`: `issuer|subject`. */
  users(field: UserSearchField, value: string, q: Query = {}): Promise<Page<UserOut>> {
    return this.call("GET", `/v1/ops/users${queryString({ ...q, [field]: value })}`);
  }
  user(userId: string): Promise<UserDetail> {
    return this.call("GET", `/v1/ops/users/${encodeURIComponent(userId)}`);
  }
  sessions(userId: string, q: Query = {}): Promise<Page<SessionRecord>> {
    return this.call("GET", `/v1/ops/users/${encodeURIComponent(userId)}/sessions${queryString(q)}`);
  }
  worlds(q: Query = {}): Promise<Page<World>> {
    return this.call("GET", `/v1/ops/worlds${queryString(q)}`);
  }
  world(worldId: string): Promise<World> {
    return this.call("GET", `/v1/ops/worlds/${encodeURIComponent(worldId)}`);
  }
  keys(q: Query = {}): Promise<Page<ApiKeyOut>> {
    return this.call("GET", `/v1/ops/keys${queryString(q)}`);
  }
  createKey(name: string, role: Role): Promise<ApiKeyCreated> {
    return this.call("POST", "/v1/ops/keys", { name, role });
  }
  revokeKey(keyId: string): Promise<void> {
    return this.call("DELETE", `/v1/ops/keys/${encodeURIComponent(keyId)}`);
  }
  announce(scope: AnnounceScope, text: string, target: string | null): Promise<CommandOut> {
    const body: Record<string, string> = { scope, text };
    if (scope === "room" && target) body["room_id"] = target;
    if (scope === "world" && target) body["world_id"] = target;
    return this.call("POST", "/v1/ops/announce", body);
  }
}
