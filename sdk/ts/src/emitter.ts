// A small typed event emitter: handlers run synchronously, in subscription
// order; a handler that throws does not stop the others. Its error goes to
// `report`, by default rethrown on a microtask (an uncaught error, as if the
// handler had run on its own), so it is never swallowed.

export type Handler<T> = (payload: T) => void;

export class Emitter<Events extends object> {
  private readonly handlers = new Map<keyof Events, Set<Handler<never>>>();

  constructor(
    private readonly report: (err: unknown) => void = (err) =>
      queueMicrotask(() => {
        throw err;
      }),
  ) {}

  /** Subscribes handler to event; returns the unsubscribe function. */
  on<K extends keyof Events>(event: K, handler: Handler<Events[K]>): () => void {
    let set = this.handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler as Handler<never>);
    return () => this.off(event, handler);
  }

  off<K extends keyof Events>(event: K, handler: Handler<Events[K]>): void {
    this.handlers.get(event)?.delete(handler as Handler<never>);
  }

  /** Resolves with the next payload of event. */
  once<K extends keyof Events>(event: K): Promise<Events[K]> {
    return new Promise((resolve) => {
      const off = this.on(event, (payload) => {
        off();
        resolve(payload);
      });
    });
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.handlers.get(event);
    if (set === undefined) return;
    for (const h of [...set]) {
      try {
        (h as Handler<Events[K]>)(payload);
      } catch (err) {
        this.report(err);
      }
    }
  }
}
