// Test doubles for unit tests of the client state machine: a WebSocket the
// test plays the relay through, and a fetch that plays the control plane.
// (The real relay and control plane are exercised by tests/system/test_sdk_ts.py.)
import { decodeClientFrame, encodeServerMessage } from "../../src/codec-mirror.js";
import type { ClientMessage, ServerMessage } from "../../src/codec.js";
import type { SocketCloseEvent, SocketMessageEvent, WebSocketLike } from "../../src/socket.js";
import type { WelcomeData } from "../../src/types.js";

export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  binaryType = "blob";
  readyState = 0;
  readonly sent: ClientMessage[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: SocketMessageEvent) => void) | null = null;
  onclose: ((ev: SocketCloseEvent) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
    setTimeout(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }

  static reset(): void {
    FakeSocket.all = [];
  }

  static last(): FakeSocket {
    const s = FakeSocket.all[FakeSocket.all.length - 1];
    if (s === undefined) throw new Error("no socket opened");
    return s;
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(decodeClientFrame(data));
  }

  /** A client-side close: the close event follows with the client's code. */
  close(code = 1000, reason = ""): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    setTimeout(() => this.finish(code, reason), 0);
  }

  // --- the relay's side ---
  deliver(m: ServerMessage): void {
    const bytes = encodeServerMessage(m);
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    this.onmessage?.({ data: buf });
  }

  /** The relay closes (code 1006: the connection dropped, no close frame). */
  serverClose(code: number, reason = ""): void {
    this.finish(code, reason);
  }

  sentOf<T extends ClientMessage["type"]>(type: T): Extract<ClientMessage, { type: T }>[] {
    return this.sent.filter((m): m is Extract<ClientMessage, { type: T }> => m.type === type);
  }

  private finish(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

export interface FetchCall {
  url: string;
  body: Record<string, unknown>;
  auth: string | undefined;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

/** A control plane: sign-in always works; /v1/join answers from a queue (default: a ticket for relay ws://relay-<n>). */
export class FakeControl {
  readonly calls: FetchCall[] = [];
  readonly joinAnswers: Answer[] = [];
  /** Answers for other paths (e.g. /v1/rooms/lobby.r1/chat), in order; 404 when none is left. */
  readonly answers = new Map<string, Answer[]>();
  private tickets = 0;
  private sessions = 0;

  readonly fetch = async (url: string, init: { body?: string; headers: Record<string, string> }) => {
    const body = (init.body === undefined ? {} : JSON.parse(init.body)) as Record<string, unknown>;
    this.calls.push({ url, body, auth: init.headers["authorization"] });
    const path = new URL(url).pathname;
    let a: Answer;
    if (path.startsWith("/v1/auth/")) {
      a = {
        status: 200,
        body: {
          user_id: "u1",
          display_name: String(body["display_name"] ?? "x"),
          // A new token per sign-in or refresh: st, st-1, st-2, …
          session_token: this.sessions++ === 0 ? "st" : `st-${this.sessions - 1}`,
          session_expires_at: 1,
          refresh_token: "rt",
          refresh_expires_at: 2,
          created: true,
        },
      };
    } else if (path === "/v1/join") {
      a = this.joinAnswers.shift() ?? this.ticket(String(body["room_id"] ?? "lobby.r1"));
    } else if ((this.answers.get(path)?.length ?? 0) > 0) {
      a = this.answers.get(path)!.shift()!;
    } else {
      a = { status: 404, body: { type: "urn:plaza:problem:not-found", status: 404 } };
    }
    const headers = a.headers ?? {};
    return {
      status: a.status,
      ok: a.status < 300,
      headers: { get: (n: string) => headers[n.toLowerCase()] ?? null },
      text: async () => (a.body === undefined ? "" : JSON.stringify(a.body)),
    };
  };

  ticket(room: string): Answer {
    this.tickets++;
    return {
      status: 200,
      body: {
        room_id: room,
        world_id: "lobby",
        relay_id: `relay-${this.tickets}`,
        relay_url: `ws://relay-${this.tickets}/ws`,
        region: "local",
        ticket: `ticket-${this.tickets}`,
        ticket_expires_at: 0,
        world_version: 1,
        settings: {},
        created: false,
        room_lifetime: 1,
      },
    };
  }

  joins(): FetchCall[] {
    return this.calls.filter((c) => c.url.endsWith("/v1/join"));
  }
}

const ZERO = { x: 0, y: 0, z: 0 };

export function welcome(over: Partial<WelcomeData> = {}): ServerMessage {
  return {
    type: "welcome",
    welcome: {
      sessionId: "s1",
      memberId: 1,
      roomId: "lobby.r1",
      worldId: "lobby",
      members: [
        { memberId: 1, userId: "u1", displayName: "me", transform: { position: ZERO, rotation: { x: 0, y: 0, z: 0, w: 1 }, velocity: ZERO, animation: 0, flags: 0 }, joinedAtMs: 1 },
      ],
      state: [],
      sequence: 10,
      serverTimeMs: Date.now(),
      tickRateHz: 20,
      limits: {
        maxFrameBytes: 16384, maxChatBytes: 512, movesPerSecond: 30, moveBurst: 30, chatsPerSecond: 2, chatBurst: 5,
        emotesPerSecond: 2, emoteBurst: 4, stateSetsPerSecond: 5, stateSetBurst: 10, maxStateKeyBytes: 64,
        maxStateValueBytes: 4096, maxStateKeys: 256,
      },
      protocolVersion: 1,
      interestRadius: 0,
      ...over,
    },
  };
}

export function tick(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until probe() is truthy (2 s at most). */
export async function until(what: string, probe: () => unknown): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await tick(2);
  }
}
