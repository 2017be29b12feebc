// The whiteboard note's editing rules, without the DOM (unit tested): the note
// is room state key "note" (UTF-8 text). Your draft is based on the version
// you last saw; saving is a compare-and-set against that version, so a save
// over someone's newer note is refused (StateVersionConflict) instead of
// overwriting it. Then the conflict holds their newer text, and you either
// save yours over it (a CAS against their version) or keep theirs.

export const NOTE_KEY = "note";

/** The note as the room holds it; version 0 = never written. */
export interface NoteEntry {
  text: string;
  version: number;
  /** Member id of the writer; 0 = the server or an operator. */
  updatedBy: number;
}

export const NO_NOTE: NoteEntry = { text: "", version: 0, updatedBy: 0 };

/** What a save sends: `compareAndSet(NOTE_KEY, text, expectedVersion)`. */
export interface NoteSave {
  text: string;
  expectedVersion: number;
}

export class NoteEdit {
  private remoteEntry: NoteEntry = NO_NOTE;
  private draftText: string | null = null;
  private baseVersion = 0;
  private conflictEntry: NoteEntry | null = null;

  /** The room's note (from the Welcome or a state change). A draft keeps its base. */
  showRemote(entry: NoteEntry): void {
    this.remoteEntry = entry;
    if (this.draftText === null) this.baseVersion = entry.version;
  }

  /** The user typed: the draft starts from the version on screen. */
  edit(text: string): void {
    if (this.draftText === null) this.baseVersion = this.remoteEntry.version;
    this.draftText = text;
  }

  /** The save to send now: the draft (or the text on screen) at its base version. */
  save(): NoteSave {
    return { text: this.shownText, expectedVersion: this.baseVersion };
  }

  /** The save applied at `version`: nothing is pending any more. */
  saved(entry: NoteEntry): void {
    this.draftText = null;
    this.conflictEntry = null;
    this.remoteEntry = entry.version >= this.remoteEntry.version ? entry : this.remoteEntry;
    this.baseVersion = this.remoteEntry.version;
  }

  /** The save was refused (StateVersionConflict): theirs is the room's note now. */
  refused(): void {
    this.conflictEntry = this.remoteEntry;
  }

  /** Save your draft over their newer note: a CAS against their version. */
  retry(): NoteSave {
    if (this.conflictEntry !== null) this.baseVersion = this.conflictEntry.version;
    this.conflictEntry = null;
    return this.save();
  }

  /** Drop your draft; show theirs. */
  keepTheirs(): void {
    this.draftText = null;
    this.conflictEntry = null;
    this.baseVersion = this.remoteEntry.version;
  }

  get remote(): NoteEntry {
    return this.remoteEntry;
  }

  /** The newer note a save collided with, until retry() or keepTheirs(). */
  get conflict(): NoteEntry | null {
    return this.conflictEntry;
  }

  get editing(): boolean {
    return this.draftText !== null;
  }

  /** A draft based on a version the room has moved past (its save will be refused). */
  get stale(): boolean {
    return this.draftText !== null && this.remoteEntry.version !== this.baseVersion;
  }

  get base(): number {
    return this.baseVersion;
  }

  get shownText(): string {
    return this.draftText ?? this.remoteEntry.text;
  }
}

const encoder = new TextEncoder();

/** Why `text` cannot be saved under the session's limit, or null. */
export function noteProblem(text: string, maxValueBytes: number): string | null {
  const bytes = encoder.encode(text).length;
  return maxValueBytes > 0 && bytes > maxValueBytes ? `the note is ${bytes} bytes; the room keeps at most ${maxValueBytes}` : null;
}

const decoder = new TextDecoder();

/** The note from a room state entry (`room.state.get(NOTE_KEY)`); none: never written or deleted. */
export function noteFromState(entry: { value: Uint8Array | null; version: number; updatedBy: number } | undefined): NoteEntry {
  if (entry === undefined || entry.value === null) return NO_NOTE;
  return { text: decoder.decode(entry.value), version: entry.version, updatedBy: entry.updatedBy };
}
