// PlazaError: the one error type the SDK rejects with or throws.
import { ErrorCode } from "../../../schemas/gen/ts/plaza/common/error-code.js";

/**
 * Codes that are not a relay ErrorCode name:
 * - "timeout": no answer within requestTimeoutMs / welcomeTimeoutMs;
 * - "unconfirmed": sent, then the connection dropped before the answer (the
 *   relay may or may not have applied it; never resent by the SDK);
 * - "closed": the client ended (terminal close, leave, close) first;
 * - "not_connected": nothing to send on (no room joined, or leaving);
 * - "invalid_input": a bad argument, refused before anything was sent;
 * - "http": the control plane answered an error (see status, problem);
 * - "network": the control plane or relay could not be reached;
 * - "join_refused": the relay closed before its Welcome (see closeCode);
 * - "malformed_frame": a relay frame the SDK could not decode.
 */
export type PlazaErrorKind =
  | "timeout"
  | "unconfirmed"
  | "closed"
  | "not_connected"
  | "invalid_input"
  | "http"
  | "network"
  | "join_refused"
  | "malformed_frame";

/** An RFC 9457 problem body as the control plane sends it (docs/control.md). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  request_id?: string;
  /** When to retry (ms), on every answer with Retry-After (409, 429, 503). */
  retry_after_ms?: number;
  [field: string]: unknown;
}

export interface PlazaErrorDetails {
  errorCode?: ErrorCode;
  status?: number;
  problem?: Problem;
  closeCode?: number;
  requestId?: number;
  /** Seconds from a Retry-After header, when the answer had one. */
  retryAfterSeconds?: number;
  /** The refusal's wait in ms: the body's retry_after_ms, else Retry-After x 1000. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class PlazaError extends Error {
  /** A relay ErrorCode name ("StateVersionConflict", ...) or a PlazaErrorKind. */
  readonly code: string;
  readonly errorCode?: ErrorCode;
  readonly status?: number;
  readonly problem?: Problem;
  readonly closeCode?: number;
  readonly requestId?: number;
  readonly retryAfterSeconds?: number;
  /** The refusal's wait in ms: the body's retry_after_ms, else Retry-After x 1000. */
  readonly retryAfterMs?: number;

  constructor(code: string, message: string, details: PlazaErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "PlazaError";
    this.code = code;
    if (details.errorCode !== undefined) this.errorCode = details.errorCode;
    if (details.status !== undefined) this.status = details.status;
    if (details.problem !== undefined) this.problem = details.problem;
    if (details.closeCode !== undefined) this.closeCode = details.closeCode;
    if (details.requestId !== undefined) this.requestId = details.requestId;
    if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }

  /** The error for a relay `Error` frame. */
  static fromRelay(code: ErrorCode, message: string, requestId: number): PlazaError {
    const name = ErrorCode[code] ?? `ErrorCode${code}`;
    return new PlazaError(name, message === "" ? name : message, { errorCode: code, requestId });
  }
}
