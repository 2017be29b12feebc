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
 * One concept per module: `client.ts` (PlazaClient), `control.ts` (control
 * plane HTTP), `connection.ts` (one relay socket), `codec.ts` (FlatBuffers),
 * `backoff.ts` and `close-codes.ts` (the reconnect rule), `requests.ts`
 * (request_id matching), `room-view.ts`, `clock.ts` (RTT and clock offset),
 * `interpolator.ts`, `errors.ts`, `events.ts`, `types.ts`, `emitter.ts`,
 * `socket.ts` (WebSocket detection).
 * @packageDocumentation
 */
export * as protocol from "../../../schemas/gen/ts/plaza/protocol.js";
