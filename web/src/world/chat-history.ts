// Chat history from the control plane (GET /v1/rooms/{room}/chat, the
// player's session token): the lines a page missed while it was away (a
// reload, a reconnect) — the relay does not replay chat (protocol.md §8).
import { requestJson, queryString, type Page } from "../common/http.js";

export interface ChatRecord {
  sequence: number;
  user_id: string;
  display_name: string;
  text: string;
  occurred_at_ms: number;
  relay_id: string;
}

/** The newest `limit` lines of the room's current lifetime, oldest first. */
export async function recentChat(roomId: string, sessionToken: string, limit = 100): Promise<ChatRecord[]> {
  const page = await requestJson<Page<ChatRecord>>(
    "GET",
    `/v1/rooms/${encodeURIComponent(roomId)}/chat${queryString({ order: "newest", limit })}`,
    { authorization: `Bearer ${sessionToken}` },
  );
  return page.items.reverse();
}
