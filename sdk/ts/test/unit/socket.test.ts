import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocket as WsWebSocket } from "ws";
import { Emitter } from "../../src/index.js";
import { messageBytes, resolveWebSocket } from "../../src/socket.js";

test("without a global WebSocket (Node 20) the ws package is found by itself", async () => {
  const given = class {} as never;
  assert.equal(await resolveWebSocket(given), given, "a given constructor wins");
  const found = await resolveWebSocket(undefined);
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  assert.equal(found, typeof global === "function" ? global : WsWebSocket);
});

test("binary message data of every shape becomes bytes; text is not binary", () => {
  const bytes = new Uint8Array([1, 2, 3, 4]);
  assert.deepEqual(messageBytes(bytes.buffer), bytes);
  assert.deepEqual(messageBytes(Buffer.from([1, 2, 3, 4])), bytes);
  assert.deepEqual(messageBytes(new DataView(bytes.buffer, 1, 2)), new Uint8Array([2, 3]));
  assert.deepEqual(messageBytes([Buffer.from([1, 2]), Buffer.from([3, 4])]), bytes);
  assert.equal(messageBytes("text"), null);
});

test("a throwing handler does not keep the others from running", async () => {
  const reported: unknown[] = [];
  const e = new Emitter<{ ping: number }>((err) => reported.push(err));
  const seen: number[] = [];
  e.on("ping", () => {
    throw new Error("handler bug");
  });
  const off = e.on("ping", (n) => seen.push(n));
  e.emit("ping", 1);
  off();
  e.emit("ping", 2);
  assert.deepEqual(seen, [1]);
  assert.match(String(reported[0]), /handler bug/, "the error is reported, not swallowed");
  assert.equal(reported.length, 2, "once per emit: the thrower is still subscribed");
  const next = e.once("ping");
  e.emit("ping", 3);
  assert.equal(await next, 3);
});
