// Kick, mute and ban one user, each behind a form that needs its reason (mute
// and ban with a duration): the same actions from a room's member list and
// from a user's page. Each resolves to what the status line says, or null
// when the operator cancelled; a refusal (403 for a viewer key, …) rejects.
import { askAction } from "./action-dialog.js";
import type { OpsApi } from "./ops-api.js";

export interface Target {
  userId: string;
  name: string;
}

export async function kickUser(api: OpsApi, roomId: string, t: Target): Promise<string | null> {
  const v = await askAction(`Kick ${t.name} from ${roomId}`, "Kick", [
    { name: "reason", label: "Reason (the player is shown it)", kind: "text", required: true },
  ]);
  if (!v) return null;
  const cmd = await api.kick(roomId, t.userId, v["reason"] ?? "");
  return `kicked ${t.name} (command ${cmd.command_id})`;
}

/** `roomId` null: the mute is for every room (no "only this room" choice). */
export async function muteUser(api: OpsApi, roomId: string | null, t: Target): Promise<string | null> {
  const v = await askAction(`Mute ${t.name}`, "Mute", [
    { name: "reason", label: "Reason", kind: "text", required: true },
    { name: "duration", label: "For", kind: "duration", value: "3600", zeroLabel: "until unmuted" },
    ...(roomId === null ? [] : [{ name: "everywhere", label: "In every room (not only this one)", kind: "checkbox" as const }]),
  ]);
  if (!v) return null;
  const room = roomId === null || v["everywhere"] === "true" ? null : roomId;
  await api.mute(t.userId, v["reason"] ?? "", Number(v["duration"] ?? "0"), room);
  return `muted ${t.name}${room ? ` in ${room}` : " everywhere"}`;
}

export async function banUser(api: OpsApi, t: Target): Promise<string | null> {
  const v = await askAction(`Ban ${t.name}`, "Ban", [
    { name: "reason", label: "Reason", kind: "text", required: true },
    { name: "duration", label: "For", kind: "duration", value: "86400" },
  ]);
  if (!v) return null;
  await api.ban(t.userId, v["reason"] ?? "", Number(v["duration"] ?? "0"));
  return `banned ${t.name} (and kicked from their room)`;
}
