// The whiteboard note's compare-and-set editing (note-edit.ts): drafts keep
// their base version, a refused save shows the newer note, retry saves over
// it at its version, keep-theirs drops the draft.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NO_NOTE, NoteEdit, noteFromState, noteProblem } from "../../src/world/note-edit.js";

const A1 = { text: "plan: v1", version: 3, updatedBy: 1 };
const A2 = { text: "plan: v2", version: 4, updatedBy: 1 };

test("a room without the note saves with expected version 0", () => {
  const m = new NoteEdit();
  assert.deepEqual(m.remote, NO_NOTE);
  m.edit("first");
  assert.deepEqual(m.save(), { text: "first", expectedVersion: 0 });
});

test("not editing, the note follows the room; a draft is based on the version on screen", () => {
  const m = new NoteEdit();
  m.showRemote(A1);
  assert.equal(m.shownText, "plan: v1");
  assert.equal(m.editing, false);
  m.edit("mine");
  assert.equal(m.base, 3);
  m.showRemote(A2); // someone saved while I type: my text stays, my base too
  assert.equal(m.shownText, "mine");
  assert.equal(m.stale, true);
  assert.deepEqual(m.save(), { text: "mine", expectedVersion: 3 });
});

test("a refused save shows theirs; retry saves mine at their version; success clears the draft", () => {
  const m = new NoteEdit();
  m.showRemote(A1);
  m.edit("mine");
  m.showRemote(A2);
  m.refused();
  assert.deepEqual(m.conflict, A2);
  assert.equal(m.shownText, "mine");
  assert.deepEqual(m.retry(), { text: "mine", expectedVersion: 4 });
  assert.equal(m.conflict, null);
  assert.equal(m.stale, false);
  const mine = { text: "mine", version: 5, updatedBy: 2 };
  m.showRemote(mine); // our own broadcast comes before the answer
  m.saved(mine);
  assert.equal(m.editing, false);
  assert.deepEqual(m.remote, mine);
  assert.deepEqual(m.save(), { text: "mine", expectedVersion: 5 });
});

test("keep theirs drops the draft and shows the room's note", () => {
  const m = new NoteEdit();
  m.showRemote(A1);
  m.edit("mine");
  m.showRemote(A2);
  m.refused();
  m.keepTheirs();
  assert.equal(m.editing, false);
  assert.equal(m.conflict, null);
  assert.equal(m.shownText, "plan: v2");
  assert.equal(m.base, 4);
});

test("a late answer does not roll the note back past a newer broadcast", () => {
  const m = new NoteEdit();
  m.edit("mine");
  m.showRemote({ text: "newer", version: 9, updatedBy: 3 });
  m.saved({ text: "mine", version: 8, updatedBy: 2 });
  assert.equal(m.remote.text, "newer");
  assert.equal(m.base, 9);
});

test("state entries decode as UTF-8; a deleted or absent note is none; the size limit is in bytes", () => {
  assert.deepEqual(noteFromState({ value: new TextEncoder().encode("héllo"), version: 2, updatedBy: 7 }), { text: "héllo", version: 2, updatedBy: 7 });
  assert.deepEqual(noteFromState(undefined), NO_NOTE);
  assert.deepEqual(noteFromState({ value: null, version: 5, updatedBy: 0 }), NO_NOTE);
  assert.equal(noteProblem("ab", 2), null);
  assert.match(noteProblem("é", 1) ?? "", /2 bytes; the room keeps at most 1/);
  assert.equal(noteProblem("anything", 0), null);
});
