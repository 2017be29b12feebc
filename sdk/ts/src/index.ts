/**
 * `@plaza/sdk` — Plaza's TypeScript client (the API is in README.md).
 *
 * ```ts
 * import { PlazaClient } from "@plaza/sdk";
 * const client = new PlazaClient({ controlUrl: "http://127.0.0.1:8080" });
 * await client.signInGuest({ deviceId: "my-device-0123456789", displayName: "Ada" });
 * const { room } = await client.join({ world: "lobby" });
 * client.on("chat", (c) => console.log(`${c.displayName}: ${c.text}`));
 * await client.chat("hello");
 * client.move({ position: { x: 1, y: 0, z: 2 } });
 * ```
 *
 * One concept per module: `client.ts` (PlazaClient and its reconnect state
 * machine), `control.ts` (control plane HTTP), `connection.ts` (one relay
 * socket), `codec.ts` / `codec-mirror.ts` (FlatBuffers), `backoff.ts` and
 * `close-codes.ts` (the reconnect rule), `requests.ts` (request_id
 * matching), `room-view.ts`, `clock.ts` (RTT and clock offset),
 * `interpolator.ts`, `rate-limiter.ts` (self-throttling), `errors.ts`, `events.ts`, `types.ts`, `emitter.ts`,
 * `socket.ts` (WebSocket detection).
 * @packageDocumentation
 */
export { PlazaClient, SDK_VERSION, fullTransform, retryHintMs } from "./client.js";
export type { PlazaClientOptions, JoinTarget } from "./client.js";
export { ControlApi, RETRYABLE_STATUSES } from "./control.js";
export type {
  Account,
  ChatHistoryLine,
  ChatHistoryPage,
  ChatHistoryQuery,
  JoinAnswer,
  JoinRequest,
  GuestSignIn,
  ExternalSignIn,
  RoomSettings,
} from "./control.js";
export { PlazaError } from "./errors.js";
export type { PlazaErrorKind, PlazaErrorDetails, Problem } from "./errors.js";
export { backoffDelay, refusalWaitMs, retryAfterMs, BACKOFF_BASE_MS, BACKOFF_MAX_MS, HINT_JITTER_MS } from "./backoff.js";
export { isTerminalClose, closeCodeName, ABNORMAL_CLOSURE } from "./close-codes.js";
export { Interpolator, interpolateTransform } from "./interpolator.js";
export type { InterpolatorOptions } from "./interpolator.js";
export { RoomView } from "./room-view.js";
export { RequestTracker } from "./requests.js";
export { TokenBucket, bucketFor } from "./rate-limiter.js";
export { ClockEstimator } from "./clock.js";
export { Emitter } from "./emitter.js";
export type { Handler } from "./emitter.js";
export type { WebSocketFactory, WebSocketLike } from "./socket.js";
export type * from "./events.js";
export type * from "./types.js";
export { CloseCode } from "../../../schemas/gen/ts/plaza/common/close-code.js";
export { ErrorCode } from "../../../schemas/gen/ts/plaza/common/error-code.js";
export { LeaveReason } from "../../../schemas/gen/ts/plaza/common/leave-reason.js";
export * as codec from "./codec.js";
export * as codecMirror from "./codec-mirror.js";
export * as protocol from "../../../schemas/gen/ts/plaza/protocol.js";
