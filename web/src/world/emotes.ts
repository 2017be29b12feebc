// Emotes: the names sent (EmoteSend.emote, 1..64 bytes) and how they show.
// Words, not emoji: a machine without an emoji font would draw empty boxes.
import { h } from "../common/dom.js";

export const EMOTES: ReadonlyArray<{ name: string; label: string; verb: string }> = [
  { name: "wave", label: "Wave", verb: "waves" },
  { name: "clap", label: "Clap", verb: "claps" },
  { name: "dance", label: "Dance", verb: "dances" },
  { name: "cheer", label: "Cheer", verb: "cheers" },
  { name: "laugh", label: "Laugh", verb: "laughs" },
];

export const EMOTE_SHOW_MS = 2500;

/** The bubble over the avatar: "*waves*"; unknown names (other clients) as sent. */
export function emoteBubble(name: string): string {
  return `*${emoteVerb(name)}*`;
}

export function emoteVerb(name: string): string {
  return EMOTES.find((e) => e.name === name)?.verb ?? name;
}

export function emoteBar(send: (name: string) => void): HTMLElement {
  return h("div", { class: "emotes" },
    ...EMOTES.map((e) => h("button", { type: "button", "data-emote": e.name, onclick: () => send(e.name) }, e.label)));
}
