// One WebSocket to one relay for one ticket (protocol.md §1–§3): open, send
// Hello{ticket} as the first binary frame, wait for the Welcome, then hand
// every decoded frame to the owner in arrival order. It never reconnects:
// PlazaClient decides that from the close it reports.
import { ABNORMAL_CLOSURE } from "./close-codes.js";
import { decodeServerFrame, encodeClientMessage, type ClientMessage, type ServerMessage } from "./codec.js";
import { PlazaError } from "./errors.js";
import { messageBytes, OPEN, type WebSocketFactory, type WebSocketLike } from "./socket.js";
import type { WelcomeData } from "./types.js";

export interface ConnectionClose {
  /** Close code; 1006 when the connection dropped without a close frame. */
  code: number;
  reason: string;
  /** Whether a Welcome had arrived on this connection. */
  welcomed: boolean;
}

export interface ConnectionHandler {
  /** Every decoded relay frame, Welcome included, in arrival order. */
  message(m: ServerMessage): void;
  /** Once, when the socket closed (after the welcome promise settled). */
  closed(c: ConnectionClose): void;
  /** A relay frame that could not be decoded (dropped). */
  protocolError(message: string): void;
}

export class RelayConnection {
  /** Resolves on the Welcome; rejects with PlazaError "join_refused" (closeCode), "timeout" or "network". */
  readonly welcome: Promise<WelcomeData>;
  private readonly socket: WebSocketLike;
  private welcomed = false;
  private done = false;
  private settle: { resolve: (w: WelcomeData) => void; reject: (e: PlazaError) => void } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    factory: WebSocketFactory,
    readonly url: string,
    ticket: string,
    clientVersion: string,
    welcomeTimeoutMs: number,
    private readonly handler: ConnectionHandler,
  ) {
    this.welcome = new Promise<WelcomeData>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Keep an unobserved rejection from being reported as unhandled: the
    // owner awaits it, but may stop caring (close during join).
    this.welcome.catch(() => undefined);
    try {
      this.socket = new factory(url);
    } catch (err) {
      throw new PlazaError("network", `cannot open a WebSocket to ${url}: ${String(err)}`, { cause: err });
    }
    this.socket.binaryType = "arraybuffer";
    this.timer = setTimeout(() => {
      this.fail(new PlazaError("timeout", `no Welcome from ${url} within ${welcomeTimeoutMs} ms`));
      this.socket.close(1000, "no welcome");
    }, welcomeTimeoutMs);
    this.socket.onopen = () => {
      this.socket.send(encodeClientMessage({ type: "hello", ticket, clientVersion }));
    };
    this.socket.onmessage = (ev) => this.onFrame(ev.data);
    this.socket.onerror = () => undefined; // the close that follows says what happened
    this.socket.onclose = (ev) => this.onClose(typeof ev.code === "number" ? ev.code : ABNORMAL_CLOSURE, String(ev.reason ?? ""));
  }

  get open(): boolean {
    return !this.done && this.socket.readyState === OPEN;
  }

  /** Sends one message; false when the socket is not open (nothing sent). */
  send(m: ClientMessage): boolean {
    if (!this.open) return false;
    this.socket.send(encodeClientMessage(m));
    return true;
  }

  /** Closes the socket (code 1000 or 3000–4999, as browsers allow). */
  close(code = 1000, reason = ""): void {
    this.socket.close(code, reason);
  }

  private onFrame(data: unknown): void {
    if (this.done) return;
    const bytes = messageBytes(data);
    if (bytes === null) {
      this.handler.protocolError("relay sent a text frame");
      return;
    }
    let m: ServerMessage;
    try {
      m = decodeServerFrame(bytes);
    } catch (err) {
      this.handler.protocolError(err instanceof Error ? err.message : String(err));
      return;
    }
    if (m.type === "welcome") {
      if (this.welcomed) {
        this.handler.protocolError("second Welcome on one connection");
        return;
      }
      this.welcomed = true;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.handler.message(m);
      this.settle?.resolve(m.welcome);
      return;
    }
    if (!this.welcomed) {
      // A DisconnectNotice or Error before the Welcome: the close follows.
      if (m.type === "disconnectNotice" || m.type === "error") this.handler.message(m);
      return;
    }
    this.handler.message(m);
  }

  private onClose(code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (!this.welcomed) {
      this.fail(
        code === ABNORMAL_CLOSURE && reason === ""
          ? new PlazaError("network", `connection to ${this.url} dropped before the Welcome`, { closeCode: code })
          : new PlazaError("join_refused", `relay closed ${code} before the Welcome: ${reason}`, { closeCode: code }),
      );
    }
    this.handler.closed({ code, reason, welcomed: this.welcomed });
  }

  private fail(err: PlazaError): void {
    const s = this.settle;
    this.settle = undefined;
    s?.reject(err);
  }
}
