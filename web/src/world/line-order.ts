// The order of the chat panel's lines, apart from the DOM: room events by
// sequence, each once (the same line may come live and again from history);
// the page's own notices after the newest room event seen when they were
// added, in the order added. Bounded: the oldest lines go first.

export interface Sequenced {
  sequence: number;
  /** Notices are the page's own (no room sequence of their own). */
  notice: boolean;
}

export class LineOrder<T extends Sequenced> {
  private readonly lines = new Map<string, { line: T; seq: number; n: number }>();
  private notices = 0;
  private maxSequence = 0;

  constructor(private readonly max = 500) {}

  /** Adds a line; false when a room event of that sequence is already held. */
  add(line: T): boolean {
    if (line.notice) {
      const n = ++this.notices;
      this.lines.set(`n${n}`, { line, seq: this.maxSequence, n });
    } else {
      const key = `s${line.sequence}`;
      if (this.lines.has(key)) return false;
      this.lines.set(key, { line, seq: line.sequence, n: 0 });
      this.maxSequence = Math.max(this.maxSequence, line.sequence);
    }
    if (this.lines.size > this.max) {
      for (const [k] of this.sorted().slice(0, this.lines.size - this.max)) this.lines.delete(k);
    }
    return true;
  }

  clear(): void {
    this.lines.clear();
    this.maxSequence = 0;
  }

  get newestSequence(): number {
    return this.maxSequence;
  }

  /** Every line, in display order. */
  all(): T[] {
    return this.sorted().map(([, v]) => v.line);
  }

  private sorted(): [string, { line: T; seq: number; n: number }][] {
    // Same sequence: the room event (n = 0) first, then notices as added.
    return [...this.lines.entries()].sort(([, a], [, b]) => a.seq - b.seq || a.n - b.n);
  }
}
