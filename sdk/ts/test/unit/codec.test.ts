// The codec on the values that matter (the shared vectors are in conformance.test.ts).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeServerFrame, encodeClientMessage } from "../../src/codec.js";
import { decodeClientFrame, encodeServerMessage } from "../../src/codec-mirror.js";
import { PlazaError } from "../../src/index.js";
import { repoRoot } from "../repo.js";

const vector = (name: string) => new Uint8Array(readFileSync(join(repoRoot(), "schemas", "testdata", `${name}.bin`)));

test("a Welcome vector decodes to the values of its JSON source", () => {
  const m = decodeServerFrame(vector("protocol.welcome"));
  assert.equal(m.type, "welcome");
  if (m.type !== "welcome") return;
  const w = m.welcome;
  assert.equal(w.sessionId, "s_9f2c");
  assert.equal(w.memberId, 7);
  assert.equal(w.roomId, "r_lobby_1");
  assert.equal(w.members[0]!.displayName, "Zoë 🐙");
  assert.deepEqual(w.members[0]!.transform.velocity, { x: 1.5, y: 0, z: -2.25 });
  assert.equal(w.members[0]!.joinedAtMs, 1764300000123);
  assert.deepEqual([...w.state[0]!.value], [1, 0, 255]);
  assert.equal(w.state[0]!.version, 42);
  assert.equal(w.sequence, 1234);
  assert.equal(w.limits.maxChatBytes, 512);
  assert.equal(w.interestRadius, 50);
});

test("client frames carry the PLZP identifier and decode back to themselves", () => {
  const msgs = [
    { type: "hello", ticket: "t.k.n", clientVersion: "web/1", protocolVersion: 1 },
    { type: "chat", text: "héllo 👋", requestId: 4294967295 },
    { type: "stateSet", key: "k", value: new Uint8Array([0, 1]), compareAndSet: true, expectedVersion: 2 ** 40, delete: false, requestId: 3 },
    { type: "ping", clientTimeMs: 1764300000123, requestId: 9 },
    { type: "leave" },
  ] as const;
  for (const m of msgs) {
    const bytes = encodeClientMessage(m);
    assert.equal(new TextDecoder().decode(bytes.subarray(4, 8)), "PLZP");
    assert.deepEqual(decodeClientFrame(bytes), m);
  }
});

test("bad relay bytes are a PlazaError, never a crash", () => {
  const bad = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(64).fill(0xff), encodeClientMessage({ type: "leave" })];
  for (const b of bad) assert.throws(() => decodeServerFrame(b), (e: unknown) => e instanceof PlazaError && e.code === "malformed_frame");
  const ok = encodeServerMessage({ type: "announcement", text: "maintenance at 5", serverTimeMs: 3, sequence: 4 });
  assert.deepEqual(decodeServerFrame(ok), { type: "announcement", text: "maintenance at 5", serverTimeMs: 3, sequence: 4 });
  // Every truncation of a valid frame either decodes or throws PlazaError.
  const w = vector("protocol.welcome");
  for (let n = 0; n < w.length; n++) {
    try {
      decodeServerFrame(w.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof PlazaError, `truncated at ${n}: ${String(e)}`);
    }
  }
});

test("random bytes and bit flips of every relay vector decode or fail as PlazaError (fuzz, seeded)", () => {
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const check = (b: Uint8Array, what: string) => {
    try {
      decodeServerFrame(b);
    } catch (e) {
      assert.ok(e instanceof PlazaError, `${what}: ${String(e)}`);
    }
  };
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(Math.floor(rand() * 200));
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
    check(b, `random #${i}`);
  }
  const relayVectors = ["welcome", "member_joined", "member_left", "movement_batch", "chat_message", "emote_played", "state_changed", "pong", "error", "disconnect_notice", "announcement"];
  for (const name of relayVectors) {
    const original = vector(`protocol.${name}`);
    for (let i = 0; i < 300; i++) {
      const b = original.slice();
      b[Math.floor(rand() * b.length)]! ^= 1 << Math.floor(rand() * 8);
      check(b, `${name} flip #${i}`);
    }
  }
});
