// PlazaClient: one player — signed in at the control plane, in at most one
// room at a time — with the reconnect rule of docs/protocol.md §8 built in.
// The API is described in README.md; this file holds the state machine:
//
//   idle ──join()──▶ joining ──Welcome──▶ connected ──close (non-terminal)──▶ reconnecting
//                      │                     │  ▲                                 │
//                      └─ failure: idle      │  └────────── Welcome ──────────────┘
//                                            └── terminal close / leave() / close() / gave up ──▶ closed
//
// Ordering contract: events are emitted synchronously from the socket's
// message handler, in frame order; a request's promise settles in the same
// turn as the event that answers it (the event first).
import { Message } from "../../../schemas/gen/ts/plaza/protocol/message.js";
import { CloseCode } from "../../../schemas/gen/ts/plaza/common/close-code.js";
import { ErrorCode } from "../../../schemas/gen/ts/plaza/common/error-code.js";
import { LeaveReason } from "../../../schemas/gen/ts/plaza/common/leave-reason.js";
import { backoffDelay } from "./backoff.js";
import { ClockEstimator } from "./clock.js";
import { closeCodeName, isTerminalClose } from "./close-codes.js";
import type { ClientMessage, ServerMessage } from "./codec.js";
import { RelayConnection, type ConnectionClose } from "./connection.js";
import {
  ControlApi,
  RETRYABLE_STATUSES,
  type Account,
  type ChatHistoryPage,
  type ChatHistoryQuery,
  type ExternalSignIn,
  type GuestSignIn,
  type JoinAnswer,
  type JoinRequest,
} from "./control.js";
import { Emitter, type Handler } from "./emitter.js";
import { PlazaError } from "./errors.js";
import type {
  ChatEvent,
  ClientStatus,
  DisconnectNoticeEvent,
  EmoteEvent,
  PlazaEvents,
  PongEvent,
  StateChangeEvent,
  WelcomeEvent,
} from "./events.js";
import { bucketFor, type TokenBucket } from "./rate-limiter.js";
import { RequestTracker } from "./requests.js";
import { RoomView } from "./room-view.js";
import { resolveWebSocket, type WebSocketFactory } from "./socket.js";
import { IDENTITY_ROTATION, type SessionLimitsInfo, type Transform, type TransformInput } from "./types.js";

export const SDK_VERSION = "0.1.0";

export interface PlazaClientOptions {
  controlUrl: string;
  clientVersion?: string;
  WebSocket?: WebSocketFactory;
  fetch?: typeof fetch;
  reconnect?: boolean;
  maxReconnectAttempts?: number;
  joinAttempts?: number;
  requestTimeoutMs?: number;
  welcomeTimeoutMs?: number;
  pingIntervalMs?: number;
  random?: () => number;
  now?: () => number;
  selfThrottle?: boolean;
}

export interface JoinTarget {
  world: string;
  room?: string;
}

interface Queued {
  requestType: number;
  build: (requestId: number) => ClientMessage;
  resolve: (v: unknown) => void;
  reject: (e: PlazaError) => void;
}

/** What ended (or is to end) the client on purpose. */
type Intent = "none" | "leave" | "close";

const encoder = new TextEncoder();

export class PlazaClient {
  readonly control: ControlApi;
  private readonly events = new Emitter<PlazaEvents>();
  private readonly tracker = new RequestTracker();
  private readonly clock = new ClockEstimator();
  private readonly opts: Required<Omit<PlazaClientOptions, "WebSocket" | "fetch">>;
  private readonly givenWebSocket: WebSocketFactory | undefined;

  private _status: ClientStatus = "idle";
  private _account: Account | null = null;
  private _room: RoomView | null = null;
  private target: JoinTarget | null = null;
  private conn: RelayConnection | null = null;
  private notice: DisconnectNoticeEvent | null = null;
  private outbox: Queued[] = [];
  private intent: Intent = "none";
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private wake: (() => void) | undefined;
  private leaveWaiters: (() => void)[] = [];
  private resumed = false;
  private _lastJoin: JoinAnswer | null = null;
  /** Per request kind (union tag), from the latest Welcome's limits. */
  private buckets = new Map<number, TokenBucket>();

  constructor(options: PlazaClientOptions) {
    const f = options.fetch ?? (globalThis.fetch as typeof fetch | undefined);
    if (f === undefined) throw new PlazaError("invalid_input", "no fetch: pass options.fetch");
    this.control = new ControlApi(options.controlUrl, f.bind(globalThis) as never);
    this.givenWebSocket = options.WebSocket;
    this.opts = {
      controlUrl: options.controlUrl,
      clientVersion: options.clientVersion ?? `plaza-ts/${SDK_VERSION}`,
      reconnect: options.reconnect ?? true,
      maxReconnectAttempts: options.maxReconnectAttempts ?? 20,
      joinAttempts: options.joinAttempts ?? 4,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      welcomeTimeoutMs: options.welcomeTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 5_000,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      selfThrottle: options.selfThrottle ?? true,
    };
  }

  // --- state ---------------------------------------------------------------

  get status(): ClientStatus {
    return this._status;
  }

  get account(): Account | null {
    return this._account;
  }

  /** The control plane's answer of the latest join (relay id and URL, room lifetime, settings). */
  get lastJoin(): JoinAnswer | null {
    return this._lastJoin;
  }

  /** The room view, rebuilt from each Welcome; null before the first. */
  get room(): RoomView | null {
    return this._room;
  }

  get rttMs(): number | null {
    return this.clock.rttMs;
  }

  get clockOffsetMs(): number {
    return this.clock.offsetMs;
  }

  /** Now on the relay's clock (Unix ms). */
  serverNow(): number {
    return this.opts.now() + this.clock.offsetMs;
  }

  on<K extends keyof PlazaEvents>(event: K, handler: Handler<PlazaEvents[K]>): () => void {
    return this.events.on(event, handler);
  }

  off<K extends keyof PlazaEvents>(event: K, handler: Handler<PlazaEvents[K]>): void {
    this.events.off(event, handler);
  }

  once<K extends keyof PlazaEvents>(event: K): Promise<PlazaEvents[K]> {
    return this.events.once(event);
  }

  // --- control plane -------------------------------------------------------

  async signInGuest(g: GuestSignIn): Promise<Account> {
    this._account = await this.control.signInGuest(g);
    return this._account;
  }

  async signInExternal(e: ExternalSignIn): Promise<Account> {
    this._account = await this.control.signInExternal(e);
    return this._account;
  }

  async refresh(): Promise<Account> {
    const a = this.requireAccount();
    this._account = await this.control.refresh(a.refreshToken);
    return this._account;
  }

  async logout(): Promise<void> {
    const a = this.requireAccount();
    await this.control.logout(a.refreshToken);
    this._account = null;
  }

  /** POST /v1/join; refreshes the session once when it is refused (401). */
  async requestTicket(target: JoinTarget, resumeSessionId?: string): Promise<JoinAnswer> {
    const req: JoinRequest = { world: target.world };
    if (target.room !== undefined) req.room = target.room;
    if (resumeSessionId !== undefined) req.resumeSessionId = resumeSessionId;
    return this.withSession((token) => this.control.join(token, req));
  }

  /**
   * Chat history of the room you are in (or `room`), from the control plane:
   * what the relay does not replay after a reconnect. Refreshes the session
   * once when it is refused (401), as `join` does.
   */
  async chatHistory(query: ChatHistoryQuery & { room?: string } = {}): Promise<ChatHistoryPage> {
    const room = query.room ?? this._room?.roomId;
    if (room === undefined) throw new PlazaError("not_connected", "chatHistory: no room joined and none named");
    const { room: _r, ...q } = query;
    return this.withSession((token) => this.control.chatHistory(token, room, q));
  }

  /**
   * Calls the control plane with the session token; when it is refused (401:
   * expired, it lives 15 min) and a refresh token is held, refreshes once and
   * calls again with the new one.
   */
  private async withSession<T>(call: (sessionToken: string) => Promise<T>): Promise<T> {
    const a = this.requireAccount();
    try {
      return await call(a.sessionToken);
    } catch (err) {
      if (err instanceof PlazaError && err.status === 401 && a.refreshToken !== "") {
        await this.refresh();
        return await call(this.requireAccount().sessionToken);
      }
      throw err;
    }
  }

  // --- joining -------------------------------------------------------------

  /**
   * Joins a world (any room with a seat) or one room of it, and resolves on
   * the relay's Welcome. Retryable refusals are retried up to joinAttempts
   * times, paced by the reconnect rule.
   */
  async join(target: JoinTarget): Promise<WelcomeEvent> {
    if (typeof target?.world !== "string" || target.world === "") {
      throw new PlazaError("invalid_input", "join needs { world } (and optionally { room })");
    }
    this.beginJoin(target);
    let hint = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.requestTicket(target);
        return await this.connectOnce(answer, false);
      } catch (err) {
        const e = toPlazaError(err);
        const retry = retryHintMs(e);
        if (this.intent !== "none" || retry === null || attempt + 1 >= this.opts.joinAttempts) {
          this.conn = null;
          this.setStatus(this.intent === "none" ? "idle" : "closed");
          this.failQueued("closed", `join failed: ${e.message}`);
          throw e;
        }
        hint = retry;
        await this.sleep(backoffDelay(attempt, hint, this.opts.random));
        if (this.intent !== "none") throw new PlazaError("closed", "the client was closed during the join", { cause: e });
      }
    }
  }

  /** Connects with a ticket already obtained (requestTicket). */
  async connect(answer: JoinAnswer): Promise<WelcomeEvent> {
    this.beginJoin({ world: answer.worldId, room: answer.roomId });
    try {
      return await this.connectOnce(answer, false);
    } catch (err) {
      this.conn = null;
      this.setStatus(this.intent === "none" ? "idle" : "closed");
      this.failQueued("closed", `connect failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }

  private beginJoin(target: JoinTarget): void {
    if (this._status === "joining" || this._status === "connected" || this._status === "reconnecting") {
      throw new PlazaError("invalid_input", `already ${this._status}: leave() first`);
    }
    this.requireAccount();
    this.target = { ...target };
    this.intent = "none";
    this.notice = null;
    this.setStatus("joining");
  }

  private async connectOnce(answer: JoinAnswer, resumed: boolean): Promise<WelcomeEvent> {
    const factory = await resolveWebSocket(this.givenWebSocket);
    if (this.intent !== "none") throw new PlazaError("closed", "the client was closed during the join");
    this.resumed = resumed;
    this.notice = null;
    this._lastJoin = answer;
    const conn = new RelayConnection(factory, answer.relayUrl, answer.ticket, this.opts.clientVersion, this.opts.welcomeTimeoutMs, {
      message: (m) => this.onMessage(conn, m),
      closed: (c) => this.onClosed(conn, c),
      protocolError: (message) => this.events.emit("protocolError", { message }),
    });
    this.conn = conn;
    await conn.welcome;
    const room = this._room;
    if (room === null) throw new PlazaError("closed", "closed right after the Welcome");
    return { room, resumed };
  }

  // --- sending -------------------------------------------------------------

  /** Sends the avatar's transform (unreliable: latest wins; no answer). Dropped when not connected. */
  move(transform: TransformInput, clientTimeMs?: number): void {
    const t = fullTransform(transform);
    if (this._status !== "connected" || this.conn === null || this.notice !== null) return;
    this.conn.send({ type: "move", transform: t, clientTimeMs: clientTimeMs ?? this.opts.now() });
  }

  chat(text: string): Promise<ChatEvent> {
    if (typeof text !== "string") return Promise.reject(new PlazaError("invalid_input", "chat text must be a string"));
    return this.request<ChatEvent>(Message.ChatSend, (requestId) => ({ type: "chat", text, requestId }));
  }

  emote(name: string): Promise<EmoteEvent> {
    if (typeof name !== "string") return Promise.reject(new PlazaError("invalid_input", "emote name must be a string"));
    return this.request<EmoteEvent>(Message.EmoteSend, (requestId) => ({ type: "emote", emote: name, requestId }));
  }

  setState(key: string, value: Uint8Array | string): Promise<StateChangeEvent> {
    return this.stateSet(key, value, false, 0, false);
  }

  compareAndSet(key: string, value: Uint8Array | string, expectedVersion: number): Promise<StateChangeEvent> {
    return this.stateSet(key, value, true, expectedVersion, false);
  }

  /** Deletes key; with expectedVersion, only at that version. */
  deleteState(key: string, expectedVersion?: number): Promise<StateChangeEvent> {
    return this.stateSet(key, null, expectedVersion !== undefined, expectedVersion ?? 0, true);
  }

  ping(): Promise<PongEvent> {
    return this.request<PongEvent>(Message.Ping, (requestId) => ({
      type: "ping",
      clientTimeMs: this.opts.now(),
      requestId,
    }));
  }

  /** Leaves the room (others see MemberLeft{Left}); resolves once the connection closed. */
  leave(): Promise<void> {
    if (this._status === "idle" || this._status === "closed") return Promise.resolve();
    this.intent = "leave";
    const done = new Promise<void>((resolve) => this.leaveWaiters.push(resolve));
    if (this.conn !== null && this.conn.open && this._status === "connected") {
      this.conn.send({ type: "leave" });
      // The relay closes with 1000; if it does not within 5 s, close ourselves.
      const conn = this.conn;
      setTimeout(() => conn.close(1000, "leave"), 5_000).unref?.();
    } else {
      this.stopNow();
    }
    return done;
  }

  /** Closes the connection without a Leave and stops reconnecting. */
  close(): void {
    if (this._status === "idle" || this._status === "closed") return;
    this.intent = "close";
    if (this.conn !== null) this.conn.close(1000, "client closed");
    else this.stopNow();
  }

  private stateSet(
    key: string,
    value: Uint8Array | string | null,
    compareAndSet: boolean,
    expectedVersion: number,
    del: boolean,
  ): Promise<StateChangeEvent> {
    if (typeof key !== "string") return Promise.reject(new PlazaError("invalid_input", "state key must be a string"));
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      return Promise.reject(new PlazaError("invalid_input", `expectedVersion must be a non-negative integer, got ${expectedVersion}`));
    }
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    return this.request<StateChangeEvent>(Message.StateSet, (requestId) => ({
      type: "stateSet",
      key,
      value: bytes,
      compareAndSet,
      expectedVersion,
      delete: del,
      requestId,
    }));
  }

  /**
   * Sends now when connected, else queues for the next Welcome (in call
   * order). The promise settles on the relay's answer, a timeout, or the
   * client's end.
   */
  private request<T>(requestType: number, build: (requestId: number) => ClientMessage): Promise<T> {
    if (this.intent !== "none" || this._status === "closed") {
      return Promise.reject(new PlazaError("closed", "the client has ended; join() again"));
    }
    if (this._status === "idle") return Promise.reject(new PlazaError("not_connected", "not in a room: join() first"));
    if (this._status === "connected" && this.conn !== null && this.conn.open && this.notice === null) {
      return this.sendNow<T>(this.conn, requestType, build);
    }
    return new Promise<T>((resolve, reject) => {
      this.outbox.push({ requestType, build, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private sendNow<T>(conn: RelayConnection, requestType: number, build: (requestId: number) => ClientMessage): Promise<T> {
    const bucket = this.buckets.get(requestType);
    const now = this.opts.now();
    if (bucket !== undefined && !bucket.take(now)) {
      const kind = Message[requestType] ?? String(requestType);
      return Promise.reject(
        new PlazaError(
          "RateLimited",
          `${kind} over this session's rate (${bucket.ratePerSecond}/s, burst ${bucket.burst}): not sent; a token is back in ${bucket.waitMs(now)} ms`,
          { errorCode: ErrorCode.RateLimited },
        ),
      );
    }
    const id = this.tracker.nextId();
    const p = this.tracker.track<T>(id, requestType, this.opts.requestTimeoutMs);
    conn.send(build(id));
    return p;
  }

  private flushOutbox(conn: RelayConnection): void {
    const queued = this.outbox;
    this.outbox = [];
    for (const q of queued) this.sendNow<unknown>(conn, q.requestType, q.build).then(q.resolve, q.reject);
  }

  private failQueued(code: string, message: string): void {
    const queued = this.outbox;
    this.outbox = [];
    for (const q of queued) q.reject(new PlazaError(code, message));
  }

  // --- receiving -----------------------------------------------------------

  private onMessage(conn: RelayConnection, m: ServerMessage): void {
    if (conn !== this.conn) return;
    const room = this._room;
    switch (m.type) {
      case "welcome": {
        const view = new RoomView(m.welcome);
        this._room = view;
        if (this.target !== null) this.target.room = view.roomId;
        this.clock.seed(m.welcome.serverTimeMs, this.opts.now());
        this.buckets = this.opts.selfThrottle ? bucketsFor(m.welcome.limits, this.opts.now()) : new Map();
        this.setStatus("connected");
        this.startPing(conn);
        this.events.emit("welcome", { room: view, resumed: this.resumed });
        this.flushOutbox(conn);
        return;
      }
      case "disconnectNotice": {
        const ev: DisconnectNoticeEvent = {
          reason: m.reason,
          closeCode: m.closeCode,
          closeName: closeCodeName(m.closeCode),
          resume: { ...m.resume },
        };
        this.notice = ev;
        this.events.emit("disconnectNotice", ev);
        return;
      }
      case "error": {
        this.events.emit("relayError", {
          code: m.code,
          codeName: PlazaError.fromRelay(m.code, "", 0).code,
          message: m.message,
          requestId: m.requestId,
          requestType: m.requestType,
        });
        this.tracker.reject(m.requestId, m.requestType, PlazaError.fromRelay(m.code, m.message, m.requestId));
        return;
      }
      case "pong": {
        const s = this.clock.addPong(m.clientTimeMs, m.serverTimeMs, this.opts.now());
        const ev: PongEvent = { rttMs: s.rttMs, clockOffsetMs: this.clock.offsetMs, serverTimeMs: m.serverTimeMs };
        this.events.emit("pong", ev);
        this.tracker.resolve(m.requestId, Message.Ping, ev);
        return;
      }
    }
    if (room === null) return;
    switch (m.type) {
      case "memberJoined":
        room.memberJoined(m.member, m.sequence);
        this.events.emit("memberJoined", { member: m.member, sequence: m.sequence });
        return;
      case "memberLeft":
        room.memberLeft(m.memberId, m.sequence);
        this.events.emit("memberLeft", {
          memberId: m.memberId,
          userId: m.userId,
          reason: m.reason,
          reasonName: LeaveReason[m.reason] ?? `LeaveReason${m.reason}`,
          sequence: m.sequence,
        });
        return;
      case "movement": {
        const avatars = m.avatars.filter((a) => a.memberId !== room.memberId);
        room.moved(avatars);
        this.events.emit("movement", { tick: m.tick, serverTimeMs: m.serverTimeMs, avatars });
        return;
      }
      case "chat": {
        room.advance(m.sequence);
        const { type: _t, ...rest } = m;
        const ev: ChatEvent = { ...rest, own: m.memberId === room.memberId };
        this.events.emit("chat", ev);
        if (ev.own) this.tracker.resolve(m.requestId, Message.ChatSend, ev);
        return;
      }
      case "emote": {
        room.advance(m.sequence);
        const { type: _t, ...rest } = m;
        const ev: EmoteEvent = { ...rest, own: m.memberId === room.memberId };
        this.events.emit("emote", ev);
        if (ev.own) this.tracker.resolve(m.requestId, Message.EmoteSend, ev);
        return;
      }
      case "stateChanged": {
        room.stateChanged(m.entry, m.deleted, m.sequence);
        const ev: StateChangeEvent = {
          sequence: m.sequence,
          key: m.entry.key,
          value: m.deleted ? null : m.entry.value,
          version: m.entry.version,
          updatedBy: m.entry.updatedBy,
          deleted: m.deleted,
          serverTimeMs: m.serverTimeMs,
          requestId: m.requestId,
          own: m.entry.updatedBy === room.memberId,
        };
        this.events.emit("stateChanged", ev);
        if (ev.own) this.tracker.resolve(m.requestId, Message.StateSet, ev);
        return;
      }
      case "announcement":
        room.advance(m.sequence);
        this.events.emit("announcement", { text: m.text, serverTimeMs: m.serverTimeMs, sequence: m.sequence });
        return;
    }
  }

  private onClosed(conn: RelayConnection, c: ConnectionClose): void {
    if (conn !== this.conn) return;
    this.conn = null;
    this.stopPing();
    this.tracker.rejectAll(
      (id) =>
        new PlazaError("unconfirmed", `connection closed (${c.code}) before the answer to request ${id}; it may or may not have applied`, {
          requestId: id,
          closeCode: c.code,
        }),
    );
    if (!c.welcomed) {
      // join()/reconnect() see the refusal through the welcome promise.
      if (this.intent !== "none") this.finish(c.code, c.reason);
      return;
    }
    const notice = this.notice;
    // A notice that says "do not rejoin" is final whatever the code says.
    const refused = notice !== null && !notice.resume.rejoin;
    if (this.intent !== "none" || isTerminalClose(c.code) || refused || !this.opts.reconnect) {
      this.finish(c.code, c.reason, refused);
      return;
    }
    this.events.emit("closed", { code: c.code, reason: c.reason, terminal: false, willReconnect: true });
    const hint = notice !== null ? notice.resume.retryAfterMs : 0;
    const room = notice !== null && notice.resume.roomId !== "" ? notice.resume.roomId : (this._room?.roomId ?? this.target?.room);
    if (this.target !== null) {
      // 4007: the room's lifetime ended; the control plane picks a room of
      // the world (as the demo bots do). Otherwise: the same room.
      if (c.code === CloseCode.RoomClosed) delete this.target.room;
      else if (room !== undefined) this.target.room = room;
    }
    void this.reconnect(hint, `close_${c.code}`, this._room?.sessionId ?? "");
  }

  // --- reconnecting (protocol.md §8) ---------------------------------------

  private async reconnect(firstHintMs: number, firstCause: string, resumeSessionId: string): Promise<void> {
    this.setStatus("reconnecting");
    let hint = firstHintMs;
    let cause = firstCause;
    let last: PlazaError | null = null;
    for (let attempt = 0; attempt < this.opts.maxReconnectAttempts; attempt++) {
      const target = this.target;
      if (this.intent !== "none" || target === null) return;
      const delayMs = backoffDelay(attempt, hint, this.opts.random);
      this.events.emit("reconnecting", { attempt, delayMs, roomId: target.room ?? "", cause });
      await this.sleep(delayMs);
      if (this.intent !== "none") return;
      try {
        const answer = await this.requestTicket(target, resumeSessionId || undefined);
        if (this.intent !== "none") return;
        await this.connectOnce(answer, true);
        return;
      } catch (err) {
        if (this.intent !== "none") return;
        last = toPlazaError(err);
        cause = causeOf(last);
        if (target.room !== undefined && roomIsUnavailable(last)) {
          // The room is not open any more (404), has no free seat (409
          // room-full) or is not where the ticket said (4104): join the world
          // instead, as the demo bots do; the next Welcome names the room.
          delete target.room;
          hint = 0;
          continue;
        }
        const retry = retryHintMs(last);
        if (retry === null) break;
        hint = retry;
      }
    }
    if (this.intent !== "none") return;
    this.conn = null;
    const code = last?.closeCode ?? 0;
    this.finish(code, last === null ? "gave up reconnecting" : `gave up reconnecting: ${last.message}`, true);
  }

  /** Resolves after ms, or at once when close()/leave() wakes it. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  // --- ending --------------------------------------------------------------

  /** Ends without a connection to close (leave/close while reconnecting or joining). */
  private stopNow(): void {
    this.wake?.();
    if (this.conn !== null) {
      this.conn.close(1000, "client closed");
      return;
    }
    this.finish(1000, this.intent === "leave" ? "left" : "client closed");
  }

  private finish(code: number, reason: string, forceTerminal = false): void {
    if (this._status === "closed") return;
    this.stopPing();
    this.wake?.();
    const why = this.intent === "none" ? `ended: close ${code} ${reason}` : `ended by ${this.intent}()`;
    this.failQueued("closed", why);
    this.tracker.rejectAll((id) => new PlazaError("closed", why, { requestId: id, closeCode: code }));
    this.setStatus("closed");
    this.events.emit("closed", {
      code,
      reason,
      terminal: forceTerminal || this.intent !== "none" || isTerminalClose(code) || !this.opts.reconnect,
      willReconnect: false,
    });
    const waiters = this.leaveWaiters;
    this.leaveWaiters = [];
    for (const w of waiters) w();
  }

  // --- keep-alive ------------------------------------------------------------

  private startPing(conn: RelayConnection): void {
    this.stopPing();
    if (this.opts.pingIntervalMs <= 0) return;
    const tick = () => {
      if (conn !== this.conn || this._status !== "connected" || this.notice !== null) return;
      this.sendNow<PongEvent>(conn, Message.Ping, (requestId) => ({ type: "ping", clientTimeMs: this.opts.now(), requestId })).catch(
        () => undefined,
      );
    };
    tick();
    this.pingTimer = setInterval(tick, this.opts.pingIntervalMs);
    (this.pingTimer as { unref?: () => void }).unref?.();
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private setStatus(s: ClientStatus): void {
    if (this._status === s) return;
    this._status = s;
    this.events.emit("status", s);
  }

  private requireAccount(): Account {
    if (this._account === null) throw new PlazaError("not_connected", "not signed in: signInGuest() or signInExternal() first");
    return this._account;
  }
}

/** The transform `move` sends: defaults filled, every number finite. */
export function fullTransform(t: TransformInput): Transform {
  const out: Transform = {
    position: { ...t.position },
    rotation: { ...(t.rotation ?? IDENTITY_ROTATION) },
    velocity: { ...(t.velocity ?? { x: 0, y: 0, z: 0 }) },
    animation: t.animation ?? 0,
    flags: t.flags ?? 0,
  };
  const nums = [
    out.position.x, out.position.y, out.position.z,
    out.rotation.x, out.rotation.y, out.rotation.z, out.rotation.w,
    out.velocity.x, out.velocity.y, out.velocity.z,
  ];
  if (!nums.every((n) => typeof n === "number" && Number.isFinite(n))) {
    throw new PlazaError("invalid_input", "move: every coordinate must be a finite number");
  }
  for (const [name, v] of [["animation", out.animation], ["flags", out.flags]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new PlazaError("invalid_input", `move: ${name} must be a uint16, got ${v}`);
  }
  return out;
}

function toPlazaError(err: unknown): PlazaError {
  return err instanceof PlazaError ? err : new PlazaError("network", String(err), { cause: err });
}

/**
 * The server's hint (ms) when err is worth another attempt by the rule —
 * a 409/429/503 answer (its retry_after_ms, else Retry-After), an unreachable control plane or
 * relay, a missing Welcome, a non-terminal close before the Welcome — else
 * null (do not retry).
 */
export function retryHintMs(err: PlazaError): number | null {
  switch (err.code) {
    case "http":
      return err.status !== undefined && RETRYABLE_STATUSES.includes(err.status) ? (err.retryAfterMs ?? (err.retryAfterSeconds ?? 0) * 1000) : null;
    case "network":
    case "timeout":
      return 0;
    case "join_refused":
      return err.closeCode !== undefined && !isTerminalClose(err.closeCode) ? 0 : null;
    default:
      return null;
  }
}

/** The self-throttling buckets of a session's limits, by request union tag (Moves coalesce: none). */
function bucketsFor(l: SessionLimitsInfo, nowMs: number): Map<number, TokenBucket> {
  const out = new Map<number, TokenBucket>();
  const add = (type: number, b: TokenBucket | null) => b !== null && out.set(type, b);
  add(Message.ChatSend, bucketFor(l.chatsPerSecond, l.chatBurst, nowMs));
  add(Message.EmoteSend, bucketFor(l.emotesPerSecond, l.emoteBurst, nowMs));
  add(Message.StateSet, bucketFor(l.stateSetsPerSecond, l.stateSetBurst, nowMs));
  // Pings are not in SessionLimits; protocol.md §5 fixes them at 5/s, burst 10.
  add(Message.Ping, bucketFor(5, 10, nowMs));
  return out;
}

/**
 * A rejoin of a room that cannot be had: 404 not-found, 409 room-full (its
 * seats were taken while we were away), or a 4104 refusal.
 */
function roomIsUnavailable(err: PlazaError): boolean {
  if (err.code === "http") return err.status === 404 || (err.status === 409 && err.problem?.type === ROOM_FULL_PROBLEM);
  return err.code === "join_refused" && err.closeCode === CloseCode.TicketWrongRoom;
}

const ROOM_FULL_PROBLEM = "urn:plaza:problem:room-full";

function causeOf(err: PlazaError): string {
  if (err.code === "http") return `join_http_${err.status ?? 0}`;
  if (err.closeCode !== undefined) return `close_${err.closeCode}`;
  return err.code;
}
