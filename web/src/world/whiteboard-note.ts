// The whiteboard note on the page: a text box everyone in the room shares
// (room state key "note", NoteEdit's rules). While you type, others' saves do
// not overwrite your text; a save over a newer note is refused by the relay
// and shows their text, with "Save mine over it" and "Keep theirs".
import { h } from "../common/dom.js";
import { NoteEdit, noteProblem, type NoteEntry, type NoteSave } from "./note-edit.js";

export interface NoteActions {
  /** compareAndSet(NOTE_KEY, text, expectedVersion); resolves with the written entry. */
  save(s: NoteSave): Promise<NoteEntry>;
  /** The display name of a member id (0: "an operator"). */
  nameOf(memberId: number): string;
  /** The session's max_state_value_bytes (0: unknown). */
  maxValueBytes(): number;
}

export class WhiteboardNote {
  readonly el: HTMLElement;
  private readonly model = new NoteEdit();
  private readonly text = h("textarea", { rows: 3, maxlength: 1000, placeholder: "A note for everyone in the room", "data-testid": "note-text" });
  private readonly saveButton = h("button", { type: "button", "data-testid": "note-save" }, "Save note");
  private readonly status = h("span", { class: "note-status", role: "status", "data-testid": "note-status" });
  private readonly theirs = h("blockquote", { "data-testid": "note-theirs" });
  private readonly conflictTitle = h("p", {});
  private readonly conflictBox: HTMLElement;
  private busy = false;

  constructor(private readonly actions: NoteActions) {
    const retry = h("button", { type: "button", "data-testid": "note-retry" }, "Save mine over it");
    const keep = h("button", { type: "button", "data-testid": "note-keep-theirs" }, "Keep theirs");
    this.conflictBox = h("div", { class: "note-conflict", "data-testid": "note-conflict", hidden: true }, this.conflictTitle, this.theirs, h("div", {}, retry, keep));
    this.el = h("div", { class: "whiteboard", "data-testid": "note" },
      h("h2", {}, "Whiteboard note"), this.text, h("div", { class: "note-actions" }, this.saveButton, this.status), this.conflictBox);
    this.text.addEventListener("input", () => {
      this.model.edit(this.text.value);
      this.render();
    });
    this.saveButton.addEventListener("click", () => this.send(this.model.save()));
    retry.addEventListener("click", () => this.send(this.model.retry()));
    keep.addEventListener("click", () => {
      this.model.keepTheirs();
      this.status.textContent = "kept theirs";
      this.render();
    });
    this.render();
  }

  /** The room's note changed (a Welcome or a state change). */
  show(entry: NoteEntry): void {
    this.model.showRemote(entry);
    this.render();
  }

  get entry(): NoteEntry {
    return this.model.remote;
  }

  /** For the test hook: what the box and the conflict show. */
  view(): { text: string; version: number; shown: string; editing: boolean; stale: boolean; conflict: string | null } {
    const m = this.model;
    return { text: m.remote.text, version: m.remote.version, shown: m.shownText, editing: m.editing, stale: m.stale, conflict: m.conflict?.text ?? null };
  }

  private send(s: NoteSave): void {
    const problem = noteProblem(s.text, this.actions.maxValueBytes());
    if (problem !== null) {
      this.status.textContent = `not saved: ${problem}`;
      return;
    }
    this.busy = true;
    this.status.textContent = "saving…";
    this.render();
    this.actions
      .save(s)
      .then((entry) => {
        this.model.saved(entry);
        this.status.textContent = `saved (version ${entry.version})`;
      })
      .catch((err: unknown) => {
        if ((err as { code?: string }).code === "StateVersionConflict") {
          this.model.refused();
          this.status.textContent = "not saved: someone saved a newer note first";
        } else {
          this.status.textContent = `not saved: ${err instanceof Error ? err.message : String(err)}`;
        }
      })
      .finally(() => {
        this.busy = false;
        this.render();
      });
  }

  private render(): void {
    const m = this.model;
    // Never overwrite what the user is typing; otherwise follow the room.
    if (!m.editing && this.text.value !== m.remote.text) this.text.value = m.remote.text;
    const conflict = m.conflict;
    this.conflictBox.hidden = conflict === null;
    if (conflict !== null) {
      this.conflictTitle.textContent = `${this.actions.nameOf(conflict.updatedBy)} saved a newer note (version ${conflict.version}) while you were editing:`;
      this.theirs.textContent = conflict.text;
    }
    this.saveButton.disabled = this.busy || !m.editing || conflict !== null;
    this.el.setAttribute("data-version", String(m.remote.version));
    this.el.setAttribute("data-stale", String(m.stale));
    if (m.stale && conflict === null && !this.busy) this.status.textContent = `${this.actions.nameOf(m.remote.updatedBy)} changed the note since you started`;
  }
}
