// Matching the relay's answers to requests by request_id (protocol.md §4):
// your own chat/emote/state write comes back as its broadcast with your
// request_id (the acknowledgement), a refused one as an Error with the same
// request_id and request_type, a Ping as a Pong. Errors may overtake earlier
// results, so matching is by id, never by order.
import { PlazaError } from "./errors.js";

interface Pending {
  /** The Message union tag of the request (ChatSend, StateSet, ...). */
  requestType: number;
  resolve: (value: unknown) => void;
  reject: (err: PlazaError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const MAX_ID = 0xffff_ffff;

export class RequestTracker {
  private readonly pending = new Map<number, Pending>();
  private last = 0;

  /** A uint32 request id ≠ 0 that no pending request holds. */
  nextId(): number {
    for (;;) {
      this.last = this.last >= MAX_ID ? 1 : this.last + 1;
      if (!this.pending.has(this.last)) return this.last;
    }
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Waits for the answer to request id of union tag requestType. Rejects
   * with PlazaError{code: "timeout"} after timeoutMs (≤ 0: never).
   */
  track<T>(id: number, requestType: number, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { requestType, resolve: resolve as (v: unknown) => void, reject, timer: undefined };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new PlazaError("timeout", `no answer to request ${id} within ${timeoutMs} ms`, { requestId: id }));
        }, timeoutMs);
      }
      this.pending.set(id, p);
    });
  }

  /**
   * Settles request id with value when it is pending and of requestType;
   * returns whether it was. A broadcast of another kind that happens to carry
   * the id (ids are per sender, kinds share them) settles nothing.
   */
  resolve(id: number, requestType: number, value: unknown): boolean {
    const p = this.take(id, requestType);
    if (p === undefined) return false;
    p.resolve(value);
    return true;
  }

  /** Rejects request id (of requestType; any type when requestType is 0). */
  reject(id: number, requestType: number, err: PlazaError): boolean {
    const p = this.take(id, requestType === 0 ? undefined : requestType);
    if (p === undefined) return false;
    p.reject(err);
    return true;
  }

  /** Rejects every pending request with make(id). */
  rejectAll(make: (id: number) => PlazaError): void {
    const all = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, p] of all) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(make(id));
    }
  }

  private take(id: number, requestType: number | undefined): Pending | undefined {
    if (id === 0) return undefined;
    const p = this.pending.get(id);
    if (p === undefined || (requestType !== undefined && p.requestType !== requestType)) return undefined;
    this.pending.delete(id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    return p;
  }
}
