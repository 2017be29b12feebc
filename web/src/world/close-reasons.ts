// What the banner says when the relay closed the connection
// (docs/protocol.md §7). `reason` is the close frame's text or the
// DisconnectNotice's (a kick's or ban's reason as the operator typed it).

const TEXT: Record<number, string> = {
  1000: "You left the room",
  1001: "The relay is restarting",
  1006: "The connection dropped",
  1011: "The relay could not take you",
  4004: "Your connection was too slow to keep up",
  4005: "You were idle too long",
  4006: "The relay is draining",
  4007: "The room was closed",
  4008: "The room is full",
  4009: "The relay is overloaded",
  4106: "Disconnected for sending too many refused messages",
  4107: "You were kicked",
  4108: "You were banned",
  4109: "You joined from another tab or device",
  4110: "This page is too old for the relay; reload it",
};

export function describeClose(code: number, reason: string): string {
  const base = TEXT[code] ?? `Disconnected (close code ${code})`;
  const why = reason.trim();
  return why ? `${base}: ${why}` : base;
}
