// The FlatBuffers codec the client uses: client -> relay messages encoded,
// relay -> client frames decoded into plain data (types.ts). Every frame is
// one `plaza.protocol.Envelope` with file identifier "PLZP" (protocol.md §2).
// The opposite directions (what a relay writes, what a client wrote) are in
// codec-mirror.ts, for tests, fake relays and the shared-vector suite.
import * as flatbuffers from "flatbuffers";
import { Transform as FbTransform } from "../../../schemas/gen/ts/plaza/common/transform.js";
import type { CloseCode } from "../../../schemas/gen/ts/plaza/common/close-code.js";
import type { ErrorCode } from "../../../schemas/gen/ts/plaza/common/error-code.js";
import type { LeaveReason } from "../../../schemas/gen/ts/plaza/common/leave-reason.js";
import {
  Announcement,
  ChatMessage,
  ChatSend,
  DisconnectNotice,
  EmotePlayed,
  EmoteSend,
  Envelope,
  Error as FbError,
  Hello,
  Leave,
  Member,
  MemberJoined,
  MemberLeft,
  Message,
  Move,
  MovementBatch,
  Ping,
  Pong,
  SessionLimits,
  StateChanged,
  StateEntry,
  StateSet,
  Welcome,
} from "../../../schemas/gen/ts/plaza/protocol.js";
import { PlazaError } from "./errors.js";
import type {
  AvatarUpdate,
  MemberInfo,
  SessionLimitsInfo,
  StateEntryInfo,
  Transform,
  WelcomeData,
} from "./types.js";

export const PROTOCOL_VERSION = 1;
export const FILE_IDENTIFIER = "PLZP";

/** A message a client sends; `encodeClientMessage` turns it into a frame. */
export type ClientMessage =
  | { type: "hello"; ticket: string; clientVersion: string; protocolVersion?: number }
  | { type: "move"; transform: Transform; clientTimeMs: number }
  | { type: "chat"; text: string; requestId: number }
  | { type: "emote"; emote: string; requestId: number }
  | {
      type: "stateSet";
      key: string;
      /** null: no value field (a delete). */
      value: Uint8Array | null;
      compareAndSet: boolean;
      expectedVersion: number;
      delete: boolean;
      requestId: number;
    }
  | { type: "ping"; clientTimeMs: number; requestId: number }
  | { type: "leave" };

export interface ResumeHintData {
  rejoin: boolean;
  retryAfterMs: number;
  roomId: string;
}

/** A relay -> client frame, decoded. */
export type ServerMessage =
  | { type: "welcome"; welcome: WelcomeData }
  | { type: "memberJoined"; member: MemberInfo; sequence: number }
  | { type: "memberLeft"; memberId: number; userId: string; reason: LeaveReason; sequence: number }
  | { type: "movement"; tick: number; serverTimeMs: number; avatars: AvatarUpdate[] }
  | {
      type: "chat";
      sequence: number;
      memberId: number;
      userId: string;
      displayName: string;
      text: string;
      serverTimeMs: number;
      requestId: number;
    }
  | { type: "emote"; sequence: number; memberId: number; emote: string; serverTimeMs: number; requestId: number }
  | {
      type: "stateChanged";
      sequence: number;
      entry: StateEntryInfo;
      deleted: boolean;
      serverTimeMs: number;
      requestId: number;
    }
  | { type: "pong"; clientTimeMs: number; serverTimeMs: number; requestId: number }
  | { type: "error"; code: ErrorCode; message: string; requestId: number; requestType: number }
  | { type: "disconnectNotice"; reason: string; closeCode: CloseCode; resume: ResumeHintData }
  | { type: "announcement"; text: string; serverTimeMs: number; sequence: number };

function finish(b: flatbuffers.Builder, type: Message, body: flatbuffers.Offset): Uint8Array {
  Envelope.finishEnvelopeBuffer(b, Envelope.createEnvelope(b, type, body));
  return b.asUint8Array();
}

/** Writes t as an inline struct (call it right where the table adds it). */
export function writeTransform(b: flatbuffers.Builder, t: Transform): flatbuffers.Offset {
  const p = t.position;
  const r = t.rotation;
  const v = t.velocity;
  return FbTransform.createTransform(b, p.x, p.y, p.z, r.x, r.y, r.z, r.w, v.x, v.y, v.z, t.animation, t.flags);
}

/** Encodes one client message as a finished Envelope frame. */
export function encodeClientMessage(m: ClientMessage): Uint8Array {
  const b = new flatbuffers.Builder(128);
  switch (m.type) {
    case "hello": {
      const ticket = b.createString(m.ticket);
      const version = b.createString(m.clientVersion);
      return finish(b, Message.Hello, Hello.createHello(b, ticket, version, m.protocolVersion ?? PROTOCOL_VERSION));
    }
    case "move": {
      Move.startMove(b);
      Move.addTransform(b, writeTransform(b, m.transform));
      Move.addClientTimeMs(b, BigInt(Math.trunc(m.clientTimeMs)));
      return finish(b, Message.Move, Move.endMove(b));
    }
    case "chat": {
      const text = b.createString(m.text);
      return finish(b, Message.ChatSend, ChatSend.createChatSend(b, text, m.requestId));
    }
    case "emote": {
      const emote = b.createString(m.emote);
      return finish(b, Message.EmoteSend, EmoteSend.createEmoteSend(b, emote, m.requestId));
    }
    case "stateSet": {
      const key = b.createString(m.key);
      const value = m.value === null ? 0 : StateSet.createValueVector(b, m.value);
      const body = StateSet.createStateSet(
        b,
        key,
        value,
        m.compareAndSet,
        BigInt(m.expectedVersion),
        m.delete,
        m.requestId,
      );
      return finish(b, Message.StateSet, body);
    }
    case "ping":
      return finish(b, Message.Ping, Ping.createPing(b, BigInt(Math.trunc(m.clientTimeMs)), m.requestId));
    case "leave":
      return finish(b, Message.Leave, Leave.createLeave(b));
  }
}

export function readTransform(t: FbTransform | null): Transform {
  if (t === null) {
    return {
      position: { x: 0, y: 0, z: 0 },
      rotation: { x: 0, y: 0, z: 0, w: 0 },
      velocity: { x: 0, y: 0, z: 0 },
      animation: 0,
      flags: 0,
    };
  }
  const p = t.position()!;
  const r = t.rotation()!;
  const v = t.velocity()!;
  return {
    position: { x: p.x(), y: p.y(), z: p.z() },
    rotation: { x: r.x(), y: r.y(), z: r.z(), w: r.w() },
    velocity: { x: v.x(), y: v.y(), z: v.z() },
    animation: t.animation(),
    flags: t.flags(),
  };
}

export function readMember(m: Member): MemberInfo {
  return {
    memberId: m.memberId(),
    userId: m.userId() ?? "",
    displayName: m.displayName() ?? "",
    transform: readTransform(m.transform()),
    joinedAtMs: Number(m.joinedAtMs()),
  };
}

export function readStateEntry(e: StateEntry | null): StateEntryInfo {
  if (e === null) {
    return { key: "", value: new Uint8Array(0), version: 0, updatedBy: 0 };
  }
  // valueArray() is a view into the frame: copy it so it outlives the frame.
  const value = e.valueArray();
  return {
    key: e.key() ?? "",
    value: value === null ? new Uint8Array(0) : value.slice(),
    version: Number(e.version()),
    updatedBy: e.updatedBy(),
  };
}

function readLimits(l: SessionLimits | null): SessionLimitsInfo {
  const s = l ?? new SessionLimits();
  const has = l !== null;
  return {
    maxFrameBytes: has ? s.maxFrameBytes() : 0,
    maxChatBytes: has ? s.maxChatBytes() : 0,
    movesPerSecond: has ? s.movesPerSecond() : 0,
    moveBurst: has ? s.moveBurst() : 0,
    chatsPerSecond: has ? s.chatsPerSecond() : 0,
    chatBurst: has ? s.chatBurst() : 0,
    emotesPerSecond: has ? s.emotesPerSecond() : 0,
    emoteBurst: has ? s.emoteBurst() : 0,
    stateSetsPerSecond: has ? s.stateSetsPerSecond() : 0,
    stateSetBurst: has ? s.stateSetBurst() : 0,
    maxStateKeyBytes: has ? s.maxStateKeyBytes() : 0,
    maxStateValueBytes: has ? s.maxStateValueBytes() : 0,
    maxStateKeys: has ? s.maxStateKeys() : 0,
  };
}

/**
 * A vector's element count, checked against the frame: flatbuffers' TS
 * runtime does not verify buffers (an out-of-range read yields 0, not an
 * error), so a corrupt length of 2^31 would otherwise loop 2^31 times.
 * Every element takes at least elemBytes bytes of the frame.
 */
function boundedLength(n: number, elemBytes: number, table: { bb: flatbuffers.ByteBuffer | null }, what: string): number {
  const frame = table.bb?.capacity() ?? 0;
  if (!Number.isInteger(n) || n < 0 || n * elemBytes > frame) {
    throw new PlazaError("malformed_frame", `${what}: ${n} elements cannot fit in a ${frame}-byte frame`);
  }
  return n;
}

/** Bytes per AvatarTransform struct (member_id, client_time_ms_low, Transform). */
const AVATAR_TRANSFORM_BYTES = 52;

function readWelcome(w: Welcome): WelcomeData {
  const snap = w.snapshot();
  const members: MemberInfo[] = [];
  const state: StateEntryInfo[] = [];
  if (snap !== null) {
    const nMembers = boundedLength(snap.membersLength(), 4, snap, "RoomSnapshot.members");
    for (let i = 0; i < nMembers; i++) {
      const m = snap.members(i);
      if (m !== null) members.push(readMember(m));
    }
    const nState = boundedLength(snap.stateLength(), 4, snap, "RoomSnapshot.state");
    for (let i = 0; i < nState; i++) {
      state.push(readStateEntry(snap.state(i)));
    }
  }
  return {
    sessionId: w.sessionId() ?? "",
    memberId: w.memberId(),
    roomId: snap?.roomId() ?? "",
    worldId: snap?.worldId() ?? "",
    members,
    state,
    sequence: snap === null ? 0 : Number(snap.sequence()),
    serverTimeMs: Number(w.serverTimeMs()),
    tickRateHz: w.tickRateHz(),
    limits: readLimits(w.limits()),
    protocolVersion: w.protocolVersion(),
    interestRadius: w.interestRadius(),
  };
}

/** Reads the Envelope at the start of bytes (no identifier check: see protocol.md §2). */
export function readEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.byteLength < 8) {
    throw new PlazaError("malformed_frame", `frame of ${bytes.byteLength} bytes is too short for an Envelope`);
  }
  return Envelope.getRootAsEnvelope(new flatbuffers.ByteBuffer(bytes));
}

/**
 * Decodes one relay -> client frame. Throws PlazaError{code:
 * "malformed_frame"} for bytes that are not such a frame (too short, offsets
 * outside it, a client -> relay or unknown message).
 */
export function decodeServerFrame(bytes: Uint8Array): ServerMessage {
  try {
    return decodeServerEnvelope(readEnvelope(bytes));
  } catch (err) {
    if (err instanceof PlazaError) throw err;
    throw new PlazaError("malformed_frame", `undecodable relay frame: ${String(err)}`);
  }
}

function decodeServerEnvelope(env: Envelope): ServerMessage {
  const type = env.messageType();
  switch (type) {
    case Message.Welcome:
      return { type: "welcome", welcome: readWelcome(env.message(new Welcome()) as Welcome) };
    case Message.MemberJoined: {
      const m = env.message(new MemberJoined()) as MemberJoined;
      const member = m.member();
      if (member === null) throw new PlazaError("malformed_frame", "MemberJoined without a member");
      return { type: "memberJoined", member: readMember(member), sequence: Number(m.sequence()) };
    }
    case Message.MemberLeft: {
      const m = env.message(new MemberLeft()) as MemberLeft;
      return {
        type: "memberLeft",
        memberId: m.memberId(),
        userId: m.userId() ?? "",
        reason: m.reason(),
        sequence: Number(m.sequence()),
      };
    }
    case Message.MovementBatch: {
      const m = env.message(new MovementBatch()) as MovementBatch;
      const avatars: AvatarUpdate[] = [];
      const n = boundedLength(m.avatarsLength(), AVATAR_TRANSFORM_BYTES, m, "MovementBatch.avatars");
      for (let i = 0; i < n; i++) {
        const a = m.avatars(i);
        if (a === null) continue;
        avatars.push({ memberId: a.memberId(), clientTimeMsLow: a.clientTimeMsLow(), transform: readTransform(a.transform()) });
      }
      return { type: "movement", tick: Number(m.tick()), serverTimeMs: Number(m.serverTimeMs()), avatars };
    }
    case Message.ChatMessage: {
      const m = env.message(new ChatMessage()) as ChatMessage;
      return {
        type: "chat",
        sequence: Number(m.sequence()),
        memberId: m.memberId(),
        userId: m.userId() ?? "",
        displayName: m.displayName() ?? "",
        text: m.text() ?? "",
        serverTimeMs: Number(m.serverTimeMs()),
        requestId: m.requestId(),
      };
    }
    case Message.EmotePlayed: {
      const m = env.message(new EmotePlayed()) as EmotePlayed;
      return {
        type: "emote",
        sequence: Number(m.sequence()),
        memberId: m.memberId(),
        emote: m.emote() ?? "",
        serverTimeMs: Number(m.serverTimeMs()),
        requestId: m.requestId(),
      };
    }
    case Message.StateChanged: {
      const m = env.message(new StateChanged()) as StateChanged;
      return {
        type: "stateChanged",
        sequence: Number(m.sequence()),
        entry: readStateEntry(m.entry()),
        deleted: m.deleted(),
        serverTimeMs: Number(m.serverTimeMs()),
        requestId: m.requestId(),
      };
    }
    case Message.Pong: {
      const m = env.message(new Pong()) as Pong;
      return {
        type: "pong",
        clientTimeMs: Number(m.clientTimeMs()),
        serverTimeMs: Number(m.serverTimeMs()),
        requestId: m.requestId(),
      };
    }
    case Message.Error: {
      const m = env.message(new FbError()) as FbError;
      return { type: "error", code: m.code(), message: m.message() ?? "", requestId: m.requestId(), requestType: m.requestType() };
    }
    case Message.DisconnectNotice: {
      const m = env.message(new DisconnectNotice()) as DisconnectNotice;
      const r = m.resume();
      return {
        type: "disconnectNotice",
        reason: m.reason() ?? "",
        closeCode: m.closeCode(),
        resume: { rejoin: r?.rejoin() ?? false, retryAfterMs: r?.retryAfterMs() ?? 0, roomId: r?.roomId() ?? "" },
      };
    }
    case Message.Announcement: {
      const m = env.message(new Announcement()) as Announcement;
      return { type: "announcement", text: m.text() ?? "", serverTimeMs: Number(m.serverTimeMs()), sequence: Number(m.sequence()) };
    }
    default:
      throw new PlazaError(
        "malformed_frame",
        `relay frame carries ${Message[type] ?? `unknown message ${type}`}, not a relay -> client message`,
      );
  }
}
