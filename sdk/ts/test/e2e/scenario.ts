// End-to-end scenario against a real Plaza (tests/system/test_sdk_ts.py
// starts one and runs this): two SDK clients sign in, join one room, move,
// chat in order, meet a compare-and-set conflict, ride out a relay drain
// into the same room on another relay, and one is kicked through the ops
// API (terminal: it must not reconnect). Prints one JSON object of
// observations on stdout; the pytest asserts on it. Exit code 0 unless the
// script itself failed (an exception is printed as {"error": ...}, exit 1).
//
// Environment: PLAZA_CONTROL_URL (control plane), PLAZA_ADMIN_KEY (an
// admin API key), PLAZA_WORLD (default "lobby").
import { randomBytes } from "node:crypto";
import { WebSocket } from "ws";
import { PlazaClient, PlazaError, type ChatEvent, type WebSocketFactory } from "../../src/index.js";

const CONTROL = required("PLAZA_CONTROL_URL");
const ADMIN_KEY = required("PLAZA_ADMIN_KEY");
const WORLD = process.env["PLAZA_WORLD"] ?? "lobby";
const RUN = randomBytes(4).toString("hex");

function required(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === "") throw new Error(`${name} must be set`);
  return v;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, probe: () => T | undefined | null | false, withinMs = 20_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function ops(method: string, path: string, body?: unknown): Promise<unknown> {
  const init: RequestInit = { method, headers: { "x-api-key": ADMIN_KEY, "content-type": "application/json" } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const resp = await fetch(CONTROL + path, init);
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return text === "" ? null : (JSON.parse(text) as unknown);
}

/** One player and everything it saw. */
class Observed {
  readonly client: PlazaClient;
  readonly chats: ChatEvent[] = [];
  readonly closes: { code: number; terminal: boolean; willReconnect: boolean; at: number }[] = [];
  readonly notices: { closeCode: number; rejoin: boolean; retryAfterMs: number; roomId: string }[] = [];
  readonly reconnects: { attempt: number; delayMs: number; cause: string; at: number }[] = [];
  readonly welcomes: { roomId: string; relayId: string; resumed: boolean; members: number; sequence: number }[] = [];
  readonly movedSeen = new Map<number, number>();

  constructor(readonly name: string) {
    this.client = new PlazaClient({ controlUrl: CONTROL, WebSocket: WebSocket as unknown as WebSocketFactory, clientVersion: "sdk-e2e/1" });
    const c = this.client;
    c.on("chat", (e) => this.chats.push(e));
    c.on("closed", (e) => this.closes.push({ ...e, at: Date.now() }));
    c.on("disconnectNotice", (e) => this.notices.push({ closeCode: e.closeCode, ...e.resume }));
    c.on("reconnecting", (e) => this.reconnects.push({ attempt: e.attempt, delayMs: e.delayMs, cause: e.cause, at: Date.now() }));
    c.on("welcome", (e) =>
      this.welcomes.push({
        roomId: e.room.roomId,
        relayId: c.lastJoin?.relayId ?? "",
        resumed: e.resumed,
        members: e.room.members.size,
        sequence: e.room.sequence,
      }),
    );
    c.on("movement", (e) => {
      for (const a of e.avatars) this.movedSeen.set(a.memberId, a.transform.position.x);
    });
  }

  async signIn(): Promise<void> {
    await this.client.signInGuest({ deviceId: `sdk-e2e-${RUN}-${this.name}`, displayName: this.name });
  }

  texts(): string[] {
    return this.chats.map((c) => c.text);
  }
}

function memberOf(view: PlazaClient["room"], userId: string): number | undefined {
  for (const m of view?.members.values() ?? []) if (m.userId === userId) return m.memberId;
  return undefined;
}

/** The step under way, named in the error when the watchdog fires. */
let step = "start";
const WATCHDOG_MS = 90_000;

async function main(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const alice = new Observed("alice");
  const bob = new Observed("bob");
  await alice.signIn();
  await bob.signIn();

  // 1. Join the same room.
  step = "1";
  const a0 = await alice.client.join({ world: WORLD });
  const roomId = a0.room.roomId;
  const b0 = await bob.client.join({ world: WORLD, room: roomId });
  await until("alice sees bob", () => memberOf(alice.client.room, bob.client.account!.userId));
  out["join"] = {
    room: roomId,
    bobRoom: b0.room.roomId,
    relay: alice.client.lastJoin?.relayId,
    aliceMembers: alice.client.room?.members.size,
    bobSeesAlice: memberOf(bob.client.room, alice.client.account!.userId) !== undefined,
  };

  // 2. Movement: alice walks along x; bob sees her member move.
  step = "2";
  const aliceMember = alice.client.room!.memberId;
  for (let i = 1; i <= 10; i++) {
    alice.client.move({ position: { x: i, y: 0, z: 0 }, velocity: { x: 1, y: 0, z: 0 } });
    await sleep(30);
  }
  await until("bob sees alice at x=10", () => bob.movedSeen.get(aliceMember) === 10);
  out["movement"] = {
    bobSawX: bob.movedSeen.get(aliceMember),
    bobViewX: bob.client.room?.members.get(aliceMember)?.transform.position.x,
    rttMs: (await alice.client.ping()).rttMs,
    // Same machine: the relay's clock is ours, so the estimate must be near 0.
    clockOffsetMs: alice.client.clockOffsetMs,
  };

  // 3. Chat in order: five lines sent back to back, acknowledged in order.
  step = "3";
  const lines = ["one", "two", "three", "four", "five"];
  const acks = await Promise.all(lines.map((t) => alice.client.chat(t)));
  await until("bob got five lines", () => bob.texts().filter((t) => lines.includes(t)).length === 5);
  out["chat"] = {
    ackSequences: acks.map((a) => a.sequence),
    bobOrder: bob.texts().filter((t) => lines.includes(t)),
    bobSequences: bob.chats.filter((c) => lines.includes(c.text)).map((c) => c.sequence),
  };

  // 4. State: a compare-and-set race on one key.
  step = "4";
  const first = await alice.client.compareAndSet("light", "on", 0);
  let conflict = "";
  try {
    await bob.client.compareAndSet("light", "off", 0);
  } catch (err) {
    conflict = err instanceof PlazaError ? err.code : String(err);
  }
  const second = await bob.client.compareAndSet("light", "off", first.version);
  await until("alice sees light=off", () => alice.client.room?.state.get("light")?.version === second.version);
  out["state"] = {
    firstVersion: first.version,
    conflict,
    secondVersion: second.version,
    aliceValue: new TextDecoder().decode(alice.client.room?.state.get("light")?.value),
  };

  // 4b. Emote, a refused chat (typed error), an operator announcement.
  step = "4b";
  const emotes: string[] = [];
  const announcements: string[] = [];
  bob.client.on("emote", (e) => emotes.push(e.emote));
  bob.client.on("announcement", (a) => announcements.push(a.text));
  const wave = await alice.client.emote("wave");
  let emptyChat = "";
  // The five lines above spent the chat burst (lobby: 2/s, burst 5) and the
  // rate is checked before the text: let the bucket refill first.
  await sleep(2600);
  try {
    await alice.client.chat("");
  } catch (err) {
    emptyChat = err instanceof PlazaError ? err.code : String(err);
  }
  await ops("POST", "/v1/ops/announce", { scope: "room", room_id: roomId, text: "welcome to the e2e" });
  await until("bob saw the wave and the announcement", () => emotes.includes("wave") && announcements.length > 0);
  out["extras"] = { waveOwn: wave.own, bobEmotes: emotes, emptyChat, announcements };

  // 5. Drain the relay; both rejoin the room elsewhere; a chat sent while
  step = "5";
  //    alice is reconnecting is delivered once after her new Welcome.
  await sleep(1000); // the relay's batched state snapshot reaches Redis
  const drainedRelay = alice.client.lastJoin!.relayId;
  const beforeDrainSeq = alice.client.room!.sequence;
  const aliceBack = alice.client.once("welcome");
  const bobBack = bob.client.once("welcome");
  let duringDrain: Promise<ChatEvent> | null = null;
  const off = alice.client.on("closed", () => {
    off();
    duringDrain = alice.client.chat("sent while reconnecting");
    duringDrain.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  });
  await ops("POST", `/v1/ops/relays/${drainedRelay}/drain`, { reason: "sdk e2e", deadline_seconds: 10 });
  await Promise.all([aliceBack, bobBack]);
  const duringAck = await until("the chat sent while reconnecting was issued", () => duringDrain);
  let duringResult: Record<string, unknown>;
  try {
    const ack = await duringAck;
    duringResult = { delivered: true, sequence: ack.sequence };
  } catch (err) {
    duringResult = { delivered: false, code: err instanceof PlazaError ? err.code : String(err) };
  }
  await until("alice sees bob again", () => memberOf(alice.client.room, bob.client.account!.userId));
  await until("bob sees alice again", () => memberOf(bob.client.room, alice.client.account!.userId));
  const afterAck = await alice.client.chat("after the drain");
  await until("bob got the line after the drain", () => bob.texts().includes("after the drain"));
  // Chat history (control plane, written from the relays' event stream):
  // the line sent while reconnecting is stored exactly once.
  let historyCount = -1;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const page = await alice.client.chatHistory({ order: "oldest", limit: 200 });
    const texts = page.items.map((i) => i.text);
    if (texts.includes("after the drain")) {
      historyCount = texts.filter((t) => t === "sent while reconnecting").length;
      out["history"] = { roomId: page.roomId, texts, sequences: page.items.map((i) => i.sequence) };
      break;
    }
    await sleep(250);
  }
  out["drain"] = {
    drainedRelay,
    aliceNotices: alice.notices,
    bobNotices: bob.notices,
    aliceCloses: alice.closes,
    aliceReconnects: alice.reconnects,
    bobReconnects: bob.reconnects,
    // As recorded when each Welcome arrived (the views have moved on since).
    aliceWelcome: alice.welcomes[alice.welcomes.length - 1],
    bobWelcome: bob.welcomes[bob.welcomes.length - 1],
    beforeDrainSeq,
    aliceLight: {
      value: new TextDecoder().decode(alice.client.room?.state.get("light")?.value),
      version: alice.client.room?.state.get("light")?.version,
    },
    bobLight: {
      value: new TextDecoder().decode(bob.client.room?.state.get("light")?.value),
      version: bob.client.room?.state.get("light")?.version,
    },
    during: duringResult,
    afterSequence: afterAck.sequence,
    historyCountOfDuring: historyCount,
    bobOrderAfter: bob.texts(),
  };

  // 6. Kick bob through the ops API: terminal, no reconnect.
  step = "6";
  const bobReconnectsBefore = bob.reconnects.length;
  const bobClosed = bob.client.once("closed");
  await ops("POST", `/v1/ops/rooms/${encodeURIComponent(alice.client.room!.roomId)}/kick`, {
    user_id: bob.client.account!.userId,
    reason: "sdk e2e kick",
  });
  const kicked = await bobClosed;
  let chatAfterKick = "";
  try {
    await bob.client.chat("after the kick");
  } catch (err) {
    chatAfterKick = err instanceof PlazaError ? err.code : String(err);
  }
  await sleep(3000); // a reconnect would have started by now (backoff ≤ 250 ms + hint)
  out["kick"] = {
    code: kicked.code,
    terminal: kicked.terminal,
    willReconnect: kicked.willReconnect,
    status: bob.client.status,
    lastNotice: bob.notices[bob.notices.length - 1],
    reconnectsAfterKick: bob.reconnects.length - bobReconnectsBefore,
    chatAfterKick,
    aliceSawBobLeave: alice.client.room !== null && memberOf(alice.client.room, bob.client.account!.userId) === undefined,
  };

  // 7. Alice leaves.
  step = "7";
  await alice.client.leave();
  out["leave"] = { status: alice.client.status, lastClose: alice.closes[alice.closes.length - 1] };
  return out;
}

const watchdog = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: `scenario stuck in step ${step} after ${WATCHDOG_MS} ms` }) + "\n");
  process.exit(1);
}, WATCHDOG_MS);

main().then(
  (out) => {
    clearTimeout(watchdog);
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  },
  (err: unknown) => {
    const why = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err);
    process.stdout.write(JSON.stringify({ error: `step ${step}: ${why}` }) + "\n");
    process.exit(1);
  },
);
