// The client's state machine against a scripted relay (FakeSocket) and
// control plane (FakeControl): request matching, the reconnect rule, resume
// into the same room, queued vs unconfirmed requests, terminal closes.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { CloseCode } from "../../../../schemas/gen/ts/plaza/common/close-code.js";
import { ErrorCode } from "../../../../schemas/gen/ts/plaza/common/error-code.js";
import { LeaveReason } from "../../../../schemas/gen/ts/plaza/common/leave-reason.js";
import { Message } from "../../../../schemas/gen/ts/plaza/protocol/message.js";
import { PlazaClient, PlazaError, type PlazaClientOptions, type ClosedEvent, type ReconnectingEvent } from "../../src/index.js";
import { FakeControl, FakeSocket, tick, until, welcome } from "./fakes.js";

const ZERO = { x: 0, y: 0, z: 0 };
const POSE = { position: ZERO, rotation: { x: 0, y: 0, z: 0, w: 1 }, velocity: ZERO, animation: 0, flags: 0 };

beforeEach(() => FakeSocket.reset());

function make(opts: Partial<PlazaClientOptions> = {}) {
  const control = new FakeControl();
  const client = new PlazaClient({
    controlUrl: "http://control.test",
    fetch: control.fetch as unknown as typeof fetch,
    WebSocket: FakeSocket,
    random: () => 0,
    pingIntervalMs: 0,
    ...opts,
  });
  const closed: ClosedEvent[] = [];
  const reconnecting: ReconnectingEvent[] = [];
  client.on("closed", (c) => closed.push(c));
  client.on("reconnecting", (r) => reconnecting.push(r));
  return { client, control, closed, reconnecting };
}

async function joined(opts: Partial<PlazaClientOptions> = {}) {
  const t = make(opts);
  await t.client.signInGuest({ deviceId: "device-0123456789ab", displayName: "me" });
  const p = t.client.join({ world: "lobby" });
  await until("socket open with a Hello", () => FakeSocket.all[0]?.sent.length === 1);
  const sock = FakeSocket.last();
  sock.deliver(welcome());
  await p;
  return { ...t, sock };
}

test("join sends Hello{ticket} first and resolves on the Welcome with the room view", async () => {
  const { client, control, sock } = await joined();
  assert.deepEqual(sock.sent[0], { type: "hello", ticket: "ticket-1", clientVersion: "plaza-ts/0.1.0", protocolVersion: 1 });
  assert.equal(sock.url, "ws://relay-1/ws");
  assert.equal(control.joins()[0]!.auth, "Bearer st");
  assert.deepEqual(control.joins()[0]!.body, { world_id: "lobby" });
  assert.equal(client.status, "connected");
  assert.equal(client.room?.roomId, "lobby.r1");
  assert.equal(client.room?.memberId, 1);
  assert.equal(client.room?.sequence, 10);
});

test("chat resolves on its own broadcast, matched by request_id; an Error rejects the right request", async () => {
  const { client, sock } = await joined();
  const a = client.chat("first");
  const b = client.chat("second");
  const [ca, cb] = sock.sentOf("chat");
  assert.ok(ca && cb && ca.requestId !== cb.requestId);
  // The error for b overtakes a's result (protocol.md §4: match by id, not order).
  sock.deliver({ type: "error", code: ErrorCode.ChatTooLong, message: "too long", requestId: cb.requestId, requestType: Message.ChatSend });
  // An error for another kind with a's id does not settle a.
  sock.deliver({ type: "error", code: ErrorCode.RateLimited, message: "", requestId: ca.requestId, requestType: Message.EmoteSend });
  sock.deliver({ type: "chat", sequence: 11, memberId: 1, userId: "u1", displayName: "me", text: "first", serverTimeMs: 5, requestId: ca.requestId });
  const ack = await a;
  assert.equal(ack.sequence, 11);
  assert.equal(ack.own, true);
  await assert.rejects(b, (e: unknown) => e instanceof PlazaError && e.code === "ChatTooLong" && e.errorCode === ErrorCode.ChatTooLong);
  assert.equal(client.room?.sequence, 11);
});

test("someone else's chat with my request id number does not settle my request", async () => {
  const { client, sock } = await joined({ requestTimeoutMs: 50 });
  const p = client.chat("mine");
  const [c] = sock.sentOf("chat");
  sock.deliver({ type: "chat", sequence: 11, memberId: 2, userId: "u2", displayName: "other", text: "theirs", serverTimeMs: 5, requestId: c!.requestId });
  await assert.rejects(p, (e: unknown) => e instanceof PlazaError && e.code === "timeout");
});

test("compare-and-set conflict rejects with StateVersionConflict; success updates the view", async () => {
  const { client, sock } = await joined();
  const p = client.compareAndSet("door", "open", 0);
  const [s] = sock.sentOf("stateSet");
  assert.equal(s!.compareAndSet, true);
  assert.equal(s!.expectedVersion, 0);
  assert.deepEqual([...s!.value!], [...new TextEncoder().encode("open")]);
  sock.deliver({ type: "error", code: ErrorCode.StateVersionConflict, message: "", requestId: s!.requestId, requestType: Message.StateSet });
  await assert.rejects(p, (e: unknown) => e instanceof PlazaError && e.code === "StateVersionConflict");
  const q = client.setState("door", "shut");
  const [, s2] = sock.sentOf("stateSet");
  sock.deliver({ type: "stateChanged", sequence: 12, entry: { key: "door", value: new TextEncoder().encode("shut"), version: 7, updatedBy: 1 }, deleted: false, serverTimeMs: 1, requestId: s2!.requestId });
  const ev = await q;
  assert.equal(ev.version, 7);
  assert.equal(new TextDecoder().decode(client.room?.state.get("door")?.value), "shut");
});

test("presence and movement keep the view current; my own avatar is skipped", async () => {
  const { client, sock } = await joined();
  const seen: number[] = [];
  client.on("movement", (m) => seen.push(...m.avatars.map((a) => a.memberId)));
  sock.deliver({ type: "memberJoined", member: { memberId: 2, userId: "u2", displayName: "bo", transform: POSE, joinedAtMs: 3 }, sequence: 11 });
  sock.deliver({ type: "movement", tick: 1, serverTimeMs: 9, avatars: [
    { memberId: 1, clientTimeMsLow: 0, transform: { ...POSE, position: { x: 9, y: 9, z: 9 } } },
    { memberId: 2, clientTimeMsLow: 0, transform: { ...POSE, position: { x: 4, y: 0, z: 0 } } },
  ] });
  assert.deepEqual(seen, [2]);
  assert.equal(client.room?.members.get(2)?.transform.position.x, 4);
  let left = "";
  client.on("memberLeft", (l) => (left = l.reasonName));
  sock.deliver({ type: "memberLeft", memberId: 2, userId: "u2", reason: LeaveReason.Kicked, sequence: 12 });
  assert.equal(left, "Kicked");
  assert.equal(client.room?.members.has(2), false);
  assert.equal(client.room?.sequence, 12);
});

test("a drain: the notice's hint paces the rejoin of the same room with resume_session_id; the view is rebuilt", async () => {
  const { client, control, sock, closed, reconnecting } = await joined();
  const inFlight = client.chat("in flight");
  sock.deliver({ type: "disconnectNotice", reason: "drain", closeCode: CloseCode.Draining, resume: { rejoin: true, retryAfterMs: 120, roomId: "lobby.r1" } });
  const queued = client.chat("while draining"); // after the notice: held for the next Welcome
  sock.serverClose(4006, "draining");
  await assert.rejects(inFlight, (e: unknown) => e instanceof PlazaError && e.code === "unconfirmed");
  assert.deepEqual(closed[0], { code: 4006, reason: "draining", terminal: false, willReconnect: true });
  assert.equal(client.status, "reconnecting");
  assert.equal(reconnecting[0]!.delayMs, 120); // hint + uniform(0, 250) with random() = 0
  assert.equal(reconnecting[0]!.cause, "close_4006");
  await until("second socket", () => FakeSocket.all.length === 2 && FakeSocket.last().sent.length === 1);
  assert.deepEqual(control.joins()[1]!.body, { world_id: "lobby", room_id: "lobby.r1", resume_session_id: "s1" });
  const sock2 = FakeSocket.last();
  let resumed = false;
  client.on("welcome", (w) => (resumed = w.resumed));
  sock2.deliver(welcome({ sessionId: "s2", memberId: 5, sequence: 20, members: [{ memberId: 5, userId: "u1", displayName: "me", transform: POSE, joinedAtMs: 9 }] }));
  assert.equal(resumed, true);
  assert.equal(client.room?.memberId, 5);
  assert.equal(client.room?.sequence, 20);
  const sentAfter = sock2.sentOf("chat");
  assert.deepEqual(sentAfter.map((c) => c.text), ["while draining"]); // once, and not the unconfirmed one
  assert.equal(sock.sentOf("chat").length, 1);
  sock2.deliver({ type: "chat", sequence: 21, memberId: 5, userId: "u1", displayName: "me", text: "while draining", serverTimeMs: 1, requestId: sentAfter[0]!.requestId });
  assert.equal((await queued).sequence, 21);
});

test("a terminal close (kicked) ends the client: no rejoin, queued requests rejected", async () => {
  const { client, control, sock, closed } = await joined();
  sock.deliver({ type: "disconnectNotice", reason: "bye", closeCode: CloseCode.Kicked, resume: { rejoin: false, retryAfterMs: 0, roomId: "lobby.r1" } });
  const queued = client.chat("too late");
  sock.serverClose(4107, "kicked by an operator");
  await assert.rejects(queued, (e: unknown) => e instanceof PlazaError && e.code === "closed");
  assert.deepEqual(closed, [{ code: 4107, reason: "kicked by an operator", terminal: true, willReconnect: false }]);
  assert.equal(client.status, "closed");
  await tick(300);
  assert.equal(control.joins().length, 1);
  await assert.rejects(client.chat("x"), (e: unknown) => e instanceof PlazaError && e.code === "closed");
});

test("every 41xx, 1000, 1002 and 1009 is terminal; other codes and 1006 reconnect", async () => {
  for (const code of [4100, 4106, 4108, 4109, 4110, 1002, 1009]) {
    FakeSocket.reset();
    const { client, closed } = await joined();
    FakeSocket.last().serverClose(code);
    assert.equal(closed[0]!.terminal, true, `code ${code}`);
    assert.equal(client.status, "closed");
  }
  for (const code of [1001, 1006, 1011, 4000, 4004, 4005, 4007, 4009]) {
    FakeSocket.reset();
    const { client, closed } = await joined();
    FakeSocket.last().serverClose(code);
    assert.equal(closed[0]!.willReconnect, true, `code ${code}`);
    assert.equal(client.status, "reconnecting");
    client.close();
    await until("closed", () => client.status === "closed");
  }
});

test("a rejoin answered 503 with Retry-After waits the hint, then goes on; a 40xx refusal is retried", async () => {
  const { client, control, sock, reconnecting } = await joined();
  control.joinAnswers.push({ status: 503, headers: { "retry-after": "1" }, body: { type: "urn:plaza:problem:no-relay", status: 503 } });
  sock.serverClose(1006);
  await until("the first rejoin attempt failed", () => reconnecting.length === 2);
  assert.equal(reconnecting[0]!.delayMs, 0);
  assert.equal(reconnecting[1]!.delayMs, 1000);
  assert.equal(reconnecting[1]!.cause, "join_http_503");
  await until("a socket for the retry", () => FakeSocket.all.length === 2 && FakeSocket.last().sent.length === 1);
  FakeSocket.last().serverClose(4006, "draining"); // refused before the Welcome: retryable
  await until("another socket", () => FakeSocket.all.length === 3 && FakeSocket.last().sent.length === 1);
  assert.equal(reconnecting[2]!.cause, "close_4006");
  FakeSocket.last().deliver(welcome({ sessionId: "s3" }));
  await until("connected", () => client.status === "connected");
  assert.equal(control.joins().length, 4);
});

test("a rejoin answered 503 overloaded waits the body's retry_after_ms plus up to 250 ms, not the rounded header", async () => {
  const { client, control, sock, reconnecting } = await joined({ random: () => 0.5 });
  control.joinAnswers.push({
    status: 503,
    headers: { "retry-after": "2" },
    body: { type: "urn:plaza:problem:overloaded", status: 503, reason: "rate", retry_after_ms: 1234 },
  });
  sock.serverClose(1006);
  await until("the first rejoin attempt failed", () => reconnecting.length === 2);
  assert.equal(reconnecting[1]!.cause, "join_http_503");
  assert.equal(reconnecting[1]!.delayMs, 1234 + 125);
  client.close();
  await until("closed", () => client.status === "closed");
});

test("a rejoin refused for good (403 banned) ends the client as terminal", async () => {
  const { client, control, sock, closed } = await joined();
  control.joinAnswers.push({ status: 403, body: { type: "urn:plaza:problem:banned", status: 403, detail: "banned" } });
  sock.serverClose(4006);
  await until("closed", () => client.status === "closed");
  assert.equal(closed[1]!.terminal, true);
  assert.equal(closed[1]!.willReconnect, false);
});

test("leave sends Leave and resolves when the relay closes 1000", async () => {
  const { client, sock, closed } = await joined();
  const done = client.leave();
  assert.deepEqual(sock.sent[sock.sent.length - 1], { type: "leave" });
  sock.serverClose(1000, "left the room");
  await done;
  assert.equal(client.status, "closed");
  assert.equal(closed[0]!.code, 1000);
  assert.equal(closed[0]!.terminal, true);
});

test("join retries a 409 room-full by the rule, then fails with the HTTP problem", async () => {
  const t = make({ joinAttempts: 2 });
  await t.client.signInGuest({ deviceId: "device-0123456789ab", displayName: "me" });
  const full = { status: 409, headers: { "retry-after": "0" }, body: { type: "urn:plaza:problem:room-full", status: 409, detail: "full" } };
  t.control.joinAnswers.push(full, full);
  await assert.rejects(t.client.join({ world: "lobby", room: "lobby.r9" }), (e: unknown) => e instanceof PlazaError && e.code === "http" && e.status === 409 && e.problem?.type === "urn:plaza:problem:room-full");
  assert.equal(t.control.joins().length, 2);
  assert.equal(t.client.status, "idle");
});

test("ping measures RTT and the relay clock offset", async () => {
  let now = 1000;
  const { client, sock } = await joined({ now: () => now });
  const p = client.ping();
  const [ping] = sock.sentOf("ping");
  assert.equal(ping!.clientTimeMs, 1000);
  now = 1040;
  sock.deliver({ type: "pong", clientTimeMs: 1000, serverTimeMs: 5020, requestId: ping!.requestId });
  const pong = await p;
  assert.equal(pong.rttMs, 40);
  assert.equal(pong.clockOffsetMs, 5020 - 1020);
  assert.equal(client.serverNow(), 1040 + 4000);
});

test("move validates its numbers and is dropped while not connected", async () => {
  const { client, sock } = await joined();
  client.move({ position: { x: 1, y: 2, z: 3 } }, 77);
  const [m] = sock.sentOf("move");
  assert.deepEqual(m, { type: "move", transform: { ...POSE, position: { x: 1, y: 2, z: 3 } }, clientTimeMs: 77 });
  assert.throws(() => client.move({ position: { x: NaN, y: 0, z: 0 } }), (e: unknown) => e instanceof PlazaError && e.code === "invalid_input");
  sock.serverClose(1006);
  client.move({ position: ZERO });
  assert.equal(sock.sentOf("move").length, 1);
  client.close();
});

test("reconnecting gives up after maxReconnectAttempts with a terminal closed (code 0: the control plane refused)", async () => {
  const { client, control, sock, closed } = await joined({ maxReconnectAttempts: 2 });
  const busy = { status: 503, headers: { "retry-after": "0" }, body: { type: "urn:plaza:problem:no-relay", status: 503 } };
  control.joinAnswers.push(busy, busy);
  sock.serverClose(1006);
  await until("closed", () => client.status === "closed");
  assert.equal(control.joins().length, 3);
  assert.deepEqual({ ...closed[1]!, reason: "" }, { code: 0, reason: "", terminal: true, willReconnect: false });
  assert.match(closed[1]!.reason, /gave up reconnecting: .*503/);
});

test("leave() while reconnecting stops at once; queued requests reject", async () => {
  const { client, control, sock } = await joined();
  control.joinAnswers.push({ status: 503, headers: { "retry-after": "30" }, body: { status: 503 } });
  sock.serverClose(4009);
  await until("waiting out the Retry-After", () => control.joins().length === 2);
  const queued = client.chat("never sent");
  await client.leave();
  assert.equal(client.status, "closed");
  await assert.rejects(queued, (e: unknown) => e instanceof PlazaError && e.code === "closed");
  assert.equal(FakeSocket.all.length, 1);
});

test("a relay that never sends the Welcome is retried after welcomeTimeoutMs", async () => {
  const t = make({ welcomeTimeoutMs: 30 });
  await t.client.signInGuest({ deviceId: "device-0123456789ab", displayName: "me" });
  const p = t.client.join({ world: "lobby" });
  await until("second socket", () => FakeSocket.all.length === 2 && FakeSocket.last().sent.length === 1);
  assert.equal(FakeSocket.all[0]!.readyState, 3, "the silent socket was closed");
  FakeSocket.last().deliver(welcome());
  const w = await p;
  assert.equal(w.resumed, false);
  assert.equal(t.client.status, "connected");
});

test("connect() with a ticket already in hand; a refusal rejects it and what was queued", async () => {
  const t = make();
  await t.client.signInGuest({ deviceId: "device-0123456789ab", displayName: "me" });
  const answer = await t.client.requestTicket({ world: "lobby" });
  const p = t.client.connect(answer);
  const queued = t.client.chat("early");
  await until("Hello sent", () => FakeSocket.all[0]?.sent.length === 1);
  FakeSocket.last().serverClose(4104, "wrong room");
  await assert.rejects(p, (e: unknown) => e instanceof PlazaError && e.code === "join_refused" && e.closeCode === 4104);
  await assert.rejects(queued, (e: unknown) => e instanceof PlazaError && e.code === "closed");
  assert.equal(t.client.status, "idle");
  await assert.rejects(t.client.chat("x"), (e: unknown) => e instanceof PlazaError && e.code === "not_connected");
});

test("a closed room (4007) rejoins the world: the control plane picks the room", async () => {
  const { client, control, sock } = await joined();
  sock.deliver({ type: "disconnectNotice", reason: "closed", closeCode: CloseCode.RoomClosed, resume: { rejoin: true, retryAfterMs: 0, roomId: "lobby.r1" } });
  sock.serverClose(4007, "room closed");
  await until("rejoin socket", () => FakeSocket.all.length === 2 && FakeSocket.last().sent.length === 1);
  assert.deepEqual(control.joins()[1]!.body, { world_id: "lobby", resume_session_id: "s1" });
  FakeSocket.last().deliver(welcome({ roomId: "lobby.r2", sessionId: "s2" }));
  await until("connected", () => client.status === "connected");
  assert.equal(client.room?.roomId, "lobby.r2");
});

test("a rejoin of a room that is gone (404, then 4104) falls back to the world", async () => {
  const { client, control, sock, reconnecting } = await joined();
  control.joinAnswers.push({ status: 404, body: { type: "urn:plaza:problem:not-found", status: 404 } });
  sock.serverClose(1006);
  await until("second join", () => control.joins().length === 3 && FakeSocket.all.length === 2 && FakeSocket.last().sent.length === 1);
  assert.equal(control.joins()[1]!.body["room_id"], "lobby.r1");
  assert.equal(control.joins()[2]!.body["room_id"], undefined);
  assert.equal(reconnecting[1]!.cause, "join_http_404");
  FakeSocket.last().deliver(welcome({ roomId: "lobby.r7" }));
  await until("connected", () => client.status === "connected");
  assert.equal(client.room?.roomId, "lobby.r7");
});

test("a notice that says do not rejoin ends the client whatever the close code", async () => {
  const { client, control, sock, closed } = await joined();
  sock.deliver({ type: "disconnectNotice", reason: "stop", closeCode: CloseCode.Draining, resume: { rejoin: false, retryAfterMs: 0, roomId: "" } });
  sock.serverClose(4006);
  assert.deepEqual(closed[0], { code: 4006, reason: "", terminal: true, willReconnect: false });
  assert.equal(client.status, "closed");
  await tick(50);
  assert.equal(control.joins().length, 1);
});

test("chat over the Welcome's rate is refused locally (nothing sent, no abuse budget spent)", async () => {
  let now = 0;
  const { client, sock } = await joined({ now: () => now, requestTimeoutMs: 20 });
  const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => client.chat(`line ${i}`)));
  assert.equal(sock.sentOf("chat").length, 5, "chat_burst is 5");
  const sixth = results[5]!;
  assert.equal(sixth.status, "rejected");
  assert.ok(sixth.status === "rejected" && sixth.reason instanceof PlazaError && sixth.reason.code === "RateLimited" && sixth.reason.errorCode === ErrorCode.RateLimited);
  now = 500; // 2/s: one token back
  void client.chat("later").catch(() => undefined);
  assert.equal(sock.sentOf("chat").length, 6);
  client.close();
});

test("selfThrottle: false leaves rate limiting to the relay", async () => {
  const { client, sock } = await joined({ selfThrottle: false, requestTimeoutMs: 20 });
  const all = [1, 2, 3, 4, 5, 6, 7].map((i) => client.chat(`line ${i}`).catch(() => undefined));
  assert.equal(sock.sentOf("chat").length, 7);
  await Promise.all(all);
});

test("a rejoin answered 409 room-full falls back to the world (as the demo bots do), not the same room again", async () => {
  const { client, control, sock, reconnecting } = await joined();
  control.joinAnswers.push({
    status: 409,
    body: { type: "urn:plaza:problem:room-full", status: 409, detail: "room lobby.r1 is full" },
    headers: { "retry-after": "2" },
  });
  sock.serverClose(1006);
  await until("world join", () => control.joins().length === 3 && FakeSocket.all.length === 2 && FakeSocket.last().sent.length === 1);
  assert.equal(control.joins()[1]!.body["room_id"], "lobby.r1");
  assert.equal(control.joins()[2]!.body["room_id"], undefined);
  assert.equal(control.joins()[2]!.body["resume_session_id"], "s1");
  assert.equal(reconnecting[1]!.cause, "join_http_409");
  assert.equal(reconnecting[1]!.roomId, "");
  assert.equal(reconnecting[1]!.delayMs, 0); // the full room's Retry-After is not the world's
  FakeSocket.last().deliver(welcome({ roomId: "lobby.r3", sessionId: "s3" }));
  await until("connected", () => client.status === "connected");
  assert.equal(client.room?.roomId, "lobby.r3");
});

test("another 409 on a rejoin (not room-full) is retried for the same room by its Retry-After", async () => {
  const { client, control, sock, reconnecting } = await joined({ random: () => 0 });
  control.joinAnswers.push({ status: 409, body: { type: "urn:plaza:problem:conflict", status: 409 }, headers: { "retry-after": "0" } });
  sock.serverClose(1006);
  await until("third join", () => control.joins().length === 3);
  assert.equal(control.joins()[2]!.body["room_id"], "lobby.r1");
  assert.equal(reconnecting[1]!.roomId, "lobby.r1");
  client.close();
});

test("chatHistory reads the room's page and refreshes an expired session once (401), then reads again", async () => {
  const { client, control } = await joined();
  const path = "/v1/rooms/lobby.r1/chat";
  const expired = { status: 401, body: { type: "urn:plaza:problem:unauthorized", status: 401 } };
  const page = {
    status: 200,
    body: {
      room_id: "lobby.r1",
      room_lifetime: 1,
      order: "newest",
      items: [{ sequence: 7, user_id: "u2", display_name: "Bo", text: "hi", occurred_at_ms: 1000, relay_id: "relay-1" }],
      next: "c2",
    },
  };
  control.answers.set(path, [expired, page]);
  const got = await client.chatHistory({ order: "newest", limit: 100 });
  assert.deepEqual(got, {
    roomId: "lobby.r1",
    roomLifetime: 1,
    order: "newest",
    items: [{ sequence: 7, userId: "u2", displayName: "Bo", text: "hi", occurredAtMs: 1000 }],
    next: "c2",
  });
  const reads = control.calls.filter((c) => c.url.includes(path));
  assert.deepEqual(
    reads.map((c) => [new URL(c.url).search, c.auth]),
    [
      ["?order=newest&limit=100", "Bearer st"],
      ["?order=newest&limit=100", "Bearer st-1"],
    ],
  );
  assert.equal(control.calls.filter((c) => c.url.endsWith("/v1/auth/refresh")).length, 1);
  assert.equal(client.account?.sessionToken, "st-1");

  // Refused twice: the second 401 is the caller's (one refresh per call).
  control.answers.set(path, [expired, expired]);
  await assert.rejects(client.chatHistory(), (e: unknown) => e instanceof PlazaError && e.code === "http" && e.status === 401);
  assert.equal(control.calls.filter((c) => c.url.endsWith("/v1/auth/refresh")).length, 2);
  // Any other refusal is not retried.
  control.answers.set(path, [{ status: 403, body: { type: "urn:plaza:problem:forbidden", status: 403 } }]);
  await assert.rejects(client.chatHistory(), (e: unknown) => e instanceof PlazaError && e.status === 403);
  assert.equal(control.calls.filter((c) => c.url.endsWith("/v1/auth/refresh")).length, 2);
});
