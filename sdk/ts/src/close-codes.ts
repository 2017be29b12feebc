// Which close codes end a client for good (docs/protocol.md §7).
import { CloseCode } from "../../../schemas/gen/ts/plaza/common/close-code.js";

/** The code a WebSocket reports when the connection dropped without a close frame. */
export const ABNORMAL_CLOSURE = 1006;

/**
 * True when close code `code` means "do not reconnect automatically": 1000
 * (you left), 1002 and 1009 (client bugs) and every 41xx (kicked, banned,
 * abuse, bad ticket, replaced, unsupported version). Every other code — and
 * a connection dropped without a close frame (1006) — means reconnect,
 * after backoffDelay.
 */
export function isTerminalClose(code: number): boolean {
  return code === 1000 || code === 1002 || code === 1009 || (code >= 4100 && code <= 4199);
}

/** The CloseCode name of code ("Kicked"), "ProtocolError" for 1002, "Abnormal" for 1006, else "Close<code>". */
export function closeCodeName(code: number): string {
  if (code === 1002) return "ProtocolError";
  if (code === ABNORMAL_CLOSURE) return "Abnormal";
  return (CloseCode as unknown as Record<number, string | undefined>)[code] ?? `Close${code}`;
}
