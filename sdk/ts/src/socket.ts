// The WebSocket the client uses: the WHATWG shape, which browsers' global
// WebSocket, Node ≥ 22's and the `ws` package's WebSocket all have.

export interface SocketMessageEvent {
  data: unknown;
}

export interface SocketCloseEvent {
  code: number;
  reason: string;
}

export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: SocketMessageEvent) => void) | null;
  onclose: ((ev: SocketCloseEvent) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = new (url: string) => WebSocketLike;

export const OPEN = 1;

/**
 * The given constructor, else globalThis.WebSocket, else the `ws` package
 * (imported by a name bundlers leave alone, so browser bundles do not pull it
 * in). Throws when none is available.
 */
export async function resolveWebSocket(given: WebSocketFactory | undefined): Promise<WebSocketFactory> {
  if (given !== undefined) return given;
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === "function") return global as WebSocketFactory;
  const name = "ws";
  try {
    const mod = (await import(name)) as { WebSocket?: unknown; default?: unknown };
    const ctor = mod.WebSocket ?? mod.default;
    if (typeof ctor === "function") return ctor as WebSocketFactory;
  } catch {
    // fall through to the error below
  }
  throw new Error("no WebSocket: pass options.WebSocket (e.g. `import { WebSocket } from \"ws\"`) or install ws");
}

/** The bytes of a binary message event (ArrayBuffer, a view, or a Node Buffer). */
export function messageBytes(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) {
    // ws with binaryType "fragments": an array of Buffers
    const parts = data.filter((p): p is Uint8Array => ArrayBuffer.isView(p));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
  return null;
}
