// One player in one room: wires the SDK's client to the canvas, chat, member
// list, light switch, whiteboard note, emotes, status bar and banner. The SDK does the
// protocol, the reconnect rule and the room model; this file only shows them.
import { Interpolator, PlazaError, type PlazaClient, type RoomView, type Transform } from "@plaza/sdk";
import { h } from "../common/dom.js";
import { Banner } from "./banner.js";
import { ChatLog } from "./chat-log.js";
import { EMOTE_SHOW_MS, emoteBar, emoteBubble, emoteVerb } from "./emotes.js";
import { LIGHT_KEY, LightSwitch } from "./light-switch.js";
import { NOTE_KEY, noteFromState } from "./note-edit.js";
import { WhiteboardNote } from "./whiteboard-note.js";
import { MemberList } from "./member-list.js";
import { SelfMover } from "./self-mover.js";
import { StatusBar } from "./status-bar.js";
import { LAMP, WorldCanvas, type AvatarSprite } from "./world-canvas.js";
import type { Point } from "./room-geometry.js";
import { describeClose } from "./close-reasons.js";

/** Chat history is written by the control plane's event consumer a moment
 * after the relay broadcast it: read it at the Welcome and once more later. */
const HISTORY_RECHECK_MS = 2500;
/** Lines of chat history read at a Welcome (the newest of the room's lifetime). */
const HISTORY_LINES = 100;

export class WorldPage {
  readonly el: HTMLElement;
  private readonly banner = new Banner();
  private readonly chat = new ChatLog();
  private readonly status = new StatusBar();
  private readonly members: MemberList;
  private readonly light: LightSwitch;
  private readonly note: WhiteboardNote;
  private readonly canvas: WorldCanvas;
  private readonly mover: SelfMover;
  private readonly interpolator = new Interpolator({ delayMs: 100 });
  private readonly emotes = new Map<number, { emote: string; untilMs: number }>();
  private lastNoticeReason = "";
  private ended = false;
  private readonly knownNames = new Map<string, string>();
  private lastSprites: AvatarSprite[] = [];
  private lastFrame = performance.now();
  private lastStatus = 0;

  constructor(private readonly client: PlazaClient) {
    const membersTitle = h("h2", {}, "In the room");
    this.members = new MemberList(membersTitle);
    this.light = new LightSwitch((next, expected) => this.flipLight(next, expected));
    this.note = new WhiteboardNote({
      save: async (s) => noteFromState(await this.client.compareAndSet(NOTE_KEY, s.text, s.expectedVersion)),
      nameOf: (memberId) => (memberId ? this.nameOf(memberId) : "an operator"),
      maxValueBytes: () => this.client.room?.limits.maxStateValueBytes ?? 0,
    });
    const canvasEl = h("canvas", { class: "room", "data-testid": "room-canvas", tabindex: 0 });
    this.canvas = new WorldCanvas(canvasEl, (p) => this.mover.walkTo(p));
    this.mover = new SelfMover({ x: 20, z: 20 }, (p, v, yaw) => this.sendMove(p, v, yaw));
    this.mover.listen(window);

    const input = h("input", { name: "chat", placeholder: "Say something (Enter)", autocomplete: "off", maxlength: 500, "data-testid": "chat-input" });
    const chatForm = h("form", { class: "chat-form" }, input, h("button", { type: "submit" }, "Send"));
    chatForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      this.client.chat(text).catch((err: unknown) => this.notice(`not sent (“${text}”): ${reasonOf(err)}`));
    });

    this.el = h("div", { class: "world" },
      this.banner.el,
      h("div", { class: "stage" }, canvasEl, this.status.el),
      h("aside", {},
        h("section", {}, this.light.el, emoteBar((name) => this.sendEmote(name))),
        h("section", {}, this.note.el),
        h("section", {}, membersTitle, this.members.el),
        h("section", { class: "chat" }, h("h2", {}, "Chat"), this.chat.el, chatForm)));
    this.subscribe();
  }

  /** Renders until the page goes away. */
  start(): void {
    const frame = (t: number): void => {
      this.render(t);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  private subscribe(): void {
    const c = this.client;
    c.on("welcome", ({ room, resumed }) => {
      if (room.sequence < this.chat.newestSequence) this.chat.clear(); // a new lifetime
      this.interpolator.clear();
      this.emotes.clear(); // member ids are per connection: a new Welcome renumbers
      for (const m of room.members.values()) {
        if (m.memberId !== room.memberId) this.interpolator.set(m.memberId, m.transform, room.serverTimeMs);
      }
      const self = room.self;
      if (!resumed && self) {
        const p = self.transform.position;
        // A new member's snapshot transform is the origin: start near the lamp.
        this.mover.place(p.x === 0 && p.z === 0 ? nearLamp() : { x: p.x, z: p.z });
      }
      this.sendMove(this.mover.position, { x: 0, z: 0 }, this.mover.heading);
      this.light.show(room.state.get(LIGHT_KEY));
      this.note.show(noteFromState(room.state.get(NOTE_KEY)));
      this.showMembers(room);
      if (resumed) {
        this.banner.show("ok", `Reconnected — back in ${room.roomId}`, 4000);
        this.notice(`reconnected to ${room.roomId}`);
      } else {
        this.banner.hide();
      }
      void this.loadHistory(room.roomId);
      window.setTimeout(() => void this.loadHistory(room.roomId), HISTORY_RECHECK_MS);
    });
    c.on("memberJoined", ({ member, sequence }) => {
      this.interpolator.set(member.memberId, member.transform, c.serverNow());
      this.chat.add({ sequence, kind: "joined", atMs: member.joinedAtMs || Date.now(), who: member.displayName, text: "" });
      this.refreshMembers();
    });
    c.on("memberLeft", (e) => {
      this.interpolator.remove(e.memberId);
      this.chat.add({ sequence: e.sequence, kind: "left", atMs: Date.now(), who: this.nameOfUser(e.userId), text: e.reasonName.toLowerCase() });
      this.refreshMembers();
    });
    c.on("movement", (e) => {
      this.interpolator.push(e);
      this.status.batch(performance.now());
    });
    c.on("chat", (e) => {
      this.chat.add({ sequence: e.sequence, kind: "chat", atMs: e.serverTimeMs, who: e.displayName, text: e.text, own: e.own });
    });
    c.on("emote", (e) => {
      this.emotes.set(e.memberId, { emote: e.emote, untilMs: performance.now() + EMOTE_SHOW_MS });
      this.chat.add({ sequence: e.sequence, kind: "emote", atMs: e.serverTimeMs, who: this.nameOf(e.memberId), text: emoteVerb(e.emote), own: e.own });
    });
    c.on("stateChanged", (e) => {
      if (e.key === NOTE_KEY) {
        this.note.show(noteFromState(c.room?.state.get(NOTE_KEY)));
        const who = e.updatedBy ? this.nameOf(e.updatedBy) : "an operator";
        this.chat.add({ sequence: e.sequence, kind: "state", atMs: e.serverTimeMs, who, text: e.deleted ? "wiped the note" : "updated the note", own: e.own });
        return;
      }
      if (e.key !== LIGHT_KEY) return;
      this.light.show(c.room?.state.get(LIGHT_KEY));
      const who = e.updatedBy ? this.nameOf(e.updatedBy) : "an operator";
      this.chat.add({ sequence: e.sequence, kind: "state", atMs: e.serverTimeMs, who, text: `switched the light ${this.light.on ? "on" : "off"}`, own: e.own });
    });
    c.on("announcement", (e) => {
      this.chat.add({ sequence: e.sequence, kind: "announcement", atMs: e.serverTimeMs, who: "", text: e.text });
      this.banner.show("info", `Announcement: ${e.text}`, 8000);
    });
    c.on("disconnectNotice", (n) => {
      this.lastNoticeReason = n.reason;
    });
    c.on("closed", (e) => {
      const why = describeClose(e.code, e.reason || this.lastNoticeReason);
      if (e.terminal) {
        this.ended = true;
        this.banner.show("error", why);
        this.notice(why);
        this.members.show([], "Not in the room");
      } else if (e.willReconnect) {
        this.banner.show("info", `${why} — reconnecting…`);
      }
      this.lastNoticeReason = "";
    });
    c.on("reconnecting", (e) => {
      this.banner.show("info", `Connection lost (${e.cause}) — reconnecting to ${e.roomId || "the room"} in ${(e.delayMs / 1000).toFixed(1)} s (attempt ${e.attempt + 1})`);
    });
  }

  private async loadHistory(roomId: string): Promise<void> {
    if (this.client.account === null || this.client.room?.roomId !== roomId) return;
    try {
      // The newest HISTORY_LINES of the room's lifetime (the SDK refreshes an
      // expired session once); the chat log orders them by sequence.
      const page = await this.client.chatHistory({ room: roomId, order: "newest", limit: HISTORY_LINES });
      for (const r of page.items) {
        this.chat.add({ sequence: r.sequence, kind: "chat", atMs: r.occurredAtMs, who: r.displayName, text: r.text, own: r.userId === this.client.account?.userId });
      }
    } catch (err) {
      this.notice(`chat history unavailable: ${reasonOf(err)}`);
    }
  }

  private async flipLight(next: "on" | "off", expectedVersion: number): Promise<void> {
    await this.client.compareAndSet(LIGHT_KEY, next, expectedVersion);
  }

  private sendEmote(name: string): void {
    this.client.emote(name).catch((err: unknown) => this.notice(`emote not sent: ${reasonOf(err)}`));
  }

  private sendMove(p: Point, v: Point, yaw: number): void {
    if (this.client.status !== "connected") return;
    this.client.move({
      position: { x: p.x, y: 0, z: p.z },
      rotation: { x: 0, y: Math.sin(yaw / 2), z: 0, w: Math.cos(yaw / 2) },
      velocity: { x: v.x, y: 0, z: v.z },
    });
  }

  private notice(text: string): void {
    this.chat.add({ sequence: 0, kind: "notice", atMs: Date.now(), who: "", text });
  }

  private nameOf(memberId: number): string {
    return this.client.room?.members.get(memberId)?.displayName ?? `member ${memberId}`;
  }

  /** A member who just left is no longer in the room view: their name is
   * remembered from when they were. */
  private nameOfUser(userId: string): string {
    return this.knownNames.get(userId) ?? userId;
  }

  private refreshMembers(): void {
    const room = this.client.room;
    if (room) this.showMembers(room);
  }

  private showMembers(room: RoomView): void {
    for (const m of room.members.values()) this.knownNames.set(m.userId, m.displayName);
    this.members.show([...room.members.values()].map((m) => ({
      memberId: m.memberId, userId: m.userId, name: m.displayName, self: m.memberId === room.memberId,
    })));
  }

  private render(t: number): void {
    const dt = Math.min(100, t - this.lastFrame);
    this.lastFrame = t;
    if (!this.ended) this.mover.step(dt, t);
    const room = this.ended ? null : this.client.room;
    const sprites: AvatarSprite[] = [];
    if (room) {
      const sampled = this.interpolator.sampleAll(this.client.serverNow());
      for (const m of room.members.values()) {
        const self = m.memberId === room.memberId;
        const tr: Transform = sampled.get(m.memberId) ?? m.transform;
        const e = this.emotes.get(m.memberId);
        sprites.push({
          memberId: m.memberId,
          userId: m.userId,
          name: m.displayName,
          position: self ? this.mover.position : { x: tr.position.x, z: tr.position.z },
          yaw: self ? this.mover.heading : yawOf(tr),
          self,
          emote: e && e.untilMs > t ? emoteBubble(e.emote) : null,
        });
      }
    }
    this.lastSprites = sprites;
    this.canvas.draw(sprites, this.light.on);
    if (t - this.lastStatus > 250) {
      this.lastStatus = t;
      this.status.show({ status: this.client.status, roomId: room?.roomId ?? "", relayId: this.client.lastJoin?.relayId ?? "", rttMs: this.client.rttMs, tickRateHz: room?.tickRateHz ?? 0, nowMs: performance.now() });
    }
  }

  /** What the page shows now, for tests and the browser console
   * (`plazaWorld.snapshot()`): read-only copies. */
  snapshot(): object {
    const room = this.client.room;
    return {
      status: this.client.status,
      ended: this.ended,
      roomId: room?.roomId ?? null,
      relayId: this.client.lastJoin?.relayId ?? null,
      members: this.ended ? [] : [...(room?.members.values() ?? [])].map((m) => m.displayName),
      memberId: room?.memberId ?? null,
      sequence: room?.sequence ?? 0,
      light: this.light.on ? "on" : "off",
      note: this.note.view(),
      rttMs: this.client.rttMs,
      avatars: this.lastSprites.map((s) => ({ name: s.name, userId: s.userId, self: s.self, x: s.position.x, z: s.position.z })),
    };
  }
}

function nearLamp(): Point {
  const a = Math.random() * Math.PI * 2;
  const r = 3 + Math.random() * 4;
  return { x: LAMP.x + Math.cos(a) * r, z: LAMP.z + Math.sin(a) * r };
}

function yawOf(t: Transform): number {
  return 2 * Math.atan2(t.rotation.y, t.rotation.w);
}

function reasonOf(err: unknown): string {
  if (err instanceof PlazaError) return err.code === "http" ? err.message : err.code;
  return err instanceof Error ? err.message : String(err);
}
