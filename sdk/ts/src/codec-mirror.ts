// The other half of the codec: what a relay writes (ServerMessage ->
// frame) and what a client wrote (frame -> ClientMessage). The client never
// needs these; tests, fake relays and the shared-vector conformance suite
// (test/unit/conformance.test.ts) do, so that every vector in
// schemas/testdata/ is decoded and re-encoded by the SDK's own types.
import * as flatbuffers from "flatbuffers";
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
  Member,
  MemberJoined,
  MemberLeft,
  Message,
  Move,
  MovementBatch,
  Ping,
  Pong,
  ResumeHint,
  RoomSnapshot,
  SessionLimits,
  StateChanged,
  StateEntry,
  StateSet,
  Welcome,
} from "../../../schemas/gen/ts/plaza/protocol.js";
import { AvatarTransform } from "../../../schemas/gen/ts/plaza/protocol/avatar-transform.js";
import { readEnvelope, readTransform, writeTransform, type ClientMessage, type ServerMessage } from "./codec.js";
import { PlazaError } from "./errors.js";
import type { MemberInfo, SessionLimitsInfo, StateEntryInfo } from "./types.js";

function finish(b: flatbuffers.Builder, type: Message, body: flatbuffers.Offset): Uint8Array {
  Envelope.finishEnvelopeBuffer(b, Envelope.createEnvelope(b, type, body));
  return b.asUint8Array();
}

function optString(b: flatbuffers.Builder, s: string): flatbuffers.Offset {
  // An empty string is written as absent, as the Go and Python builders do.
  return s === "" ? 0 : b.createString(s);
}

function writeMember(b: flatbuffers.Builder, m: MemberInfo): flatbuffers.Offset {
  const user = optString(b, m.userId);
  const name = optString(b, m.displayName);
  Member.startMember(b);
  Member.addMemberId(b, m.memberId);
  if (user) Member.addUserId(b, user);
  if (name) Member.addDisplayName(b, name);
  Member.addTransform(b, writeTransform(b, m.transform));
  Member.addJoinedAtMs(b, BigInt(m.joinedAtMs));
  return Member.endMember(b);
}

function writeEntry(b: flatbuffers.Builder, e: StateEntryInfo, withValue: boolean): flatbuffers.Offset {
  const key = optString(b, e.key);
  const value = withValue ? StateEntry.createValueVector(b, e.value) : 0;
  StateEntry.startStateEntry(b);
  if (key) StateEntry.addKey(b, key);
  if (value) StateEntry.addValue(b, value);
  StateEntry.addVersion(b, BigInt(e.version));
  StateEntry.addUpdatedBy(b, e.updatedBy);
  return StateEntry.endStateEntry(b);
}

function writeLimits(b: flatbuffers.Builder, l: SessionLimitsInfo): flatbuffers.Offset {
  return SessionLimits.createSessionLimits(
    b,
    l.maxFrameBytes,
    l.maxChatBytes,
    l.movesPerSecond,
    l.moveBurst,
    l.chatsPerSecond,
    l.chatBurst,
    l.emotesPerSecond,
    l.emoteBurst,
    l.stateSetsPerSecond,
    l.stateSetBurst,
    l.maxStateKeyBytes,
    l.maxStateValueBytes,
    l.maxStateKeys,
  );
}

/** Encodes a relay -> client message as the relay would (a finished Envelope). */
export function encodeServerMessage(m: ServerMessage): Uint8Array {
  const b = new flatbuffers.Builder(256);
  switch (m.type) {
    case "welcome": {
      const w = m.welcome;
      const members = RoomSnapshot.createMembersVector(b, w.members.map((x) => writeMember(b, x)));
      const state = RoomSnapshot.createStateVector(b, w.state.map((x) => writeEntry(b, x, true)));
      const roomId = optString(b, w.roomId);
      const worldId = optString(b, w.worldId);
      const snap = RoomSnapshot.createRoomSnapshot(b, roomId, worldId, members, state, BigInt(w.sequence));
      const session = optString(b, w.sessionId);
      const limits = writeLimits(b, w.limits);
      Welcome.startWelcome(b);
      if (session) Welcome.addSessionId(b, session);
      Welcome.addMemberId(b, w.memberId);
      Welcome.addSnapshot(b, snap);
      Welcome.addServerTimeMs(b, BigInt(w.serverTimeMs));
      Welcome.addTickRateHz(b, w.tickRateHz);
      Welcome.addLimits(b, limits);
      Welcome.addProtocolVersion(b, w.protocolVersion);
      Welcome.addInterestRadius(b, w.interestRadius);
      return finish(b, Message.Welcome, Welcome.endWelcome(b));
    }
    case "memberJoined": {
      const member = writeMember(b, m.member);
      return finish(b, Message.MemberJoined, MemberJoined.createMemberJoined(b, member, BigInt(m.sequence)));
    }
    case "memberLeft": {
      const user = optString(b, m.userId);
      return finish(b, Message.MemberLeft, MemberLeft.createMemberLeft(b, m.memberId, user, m.reason, BigInt(m.sequence)));
    }
    case "movement": {
      MovementBatch.startAvatarsVector(b, m.avatars.length);
      for (let i = m.avatars.length - 1; i >= 0; i--) {
        const a = m.avatars[i]!;
        const t = a.transform;
        AvatarTransform.createAvatarTransform(
          b,
          a.memberId,
          a.clientTimeMsLow,
          t.position.x,
          t.position.y,
          t.position.z,
          t.rotation.x,
          t.rotation.y,
          t.rotation.z,
          t.rotation.w,
          t.velocity.x,
          t.velocity.y,
          t.velocity.z,
          t.animation,
          t.flags,
        );
      }
      const avatars = b.endVector();
      const body = MovementBatch.createMovementBatch(b, BigInt(m.tick), BigInt(m.serverTimeMs), avatars);
      return finish(b, Message.MovementBatch, body);
    }
    case "chat": {
      const user = optString(b, m.userId);
      const name = optString(b, m.displayName);
      const text = optString(b, m.text);
      const body = ChatMessage.createChatMessage(
        b,
        BigInt(m.sequence),
        m.memberId,
        user,
        name,
        text,
        BigInt(m.serverTimeMs),
        m.requestId,
      );
      return finish(b, Message.ChatMessage, body);
    }
    case "emote": {
      const emote = optString(b, m.emote);
      const body = EmotePlayed.createEmotePlayed(b, BigInt(m.sequence), m.memberId, emote, BigInt(m.serverTimeMs), m.requestId);
      return finish(b, Message.EmotePlayed, body);
    }
    case "stateChanged": {
      const entry = writeEntry(b, m.entry, !m.deleted);
      StateChanged.startStateChanged(b);
      StateChanged.addSequence(b, BigInt(m.sequence));
      StateChanged.addEntry(b, entry);
      StateChanged.addDeleted(b, m.deleted);
      StateChanged.addServerTimeMs(b, BigInt(m.serverTimeMs));
      StateChanged.addRequestId(b, m.requestId);
      return finish(b, Message.StateChanged, StateChanged.endStateChanged(b));
    }
    case "pong":
      return finish(b, Message.Pong, Pong.createPong(b, BigInt(m.clientTimeMs), BigInt(m.serverTimeMs), m.requestId));
    case "error": {
      const message = optString(b, m.message);
      return finish(b, Message.Error, FbError.createError(b, m.code, message, m.requestId, m.requestType));
    }
    case "disconnectNotice": {
      const reason = optString(b, m.reason);
      const room = optString(b, m.resume.roomId);
      const resume = ResumeHint.createResumeHint(b, m.resume.rejoin, m.resume.retryAfterMs, room);
      DisconnectNotice.startDisconnectNotice(b);
      if (reason) DisconnectNotice.addReason(b, reason);
      DisconnectNotice.addCloseCode(b, m.closeCode);
      DisconnectNotice.addResume(b, resume);
      return finish(b, Message.DisconnectNotice, DisconnectNotice.endDisconnectNotice(b));
    }
    case "announcement": {
      const text = optString(b, m.text);
      return finish(b, Message.Announcement, Announcement.createAnnouncement(b, text, BigInt(m.serverTimeMs), BigInt(m.sequence)));
    }
  }
}

/** Decodes a client -> relay frame (what a relay reads). Throws PlazaError "malformed_frame". */
export function decodeClientFrame(bytes: Uint8Array): ClientMessage {
  const env = readEnvelope(bytes);
  const type = env.messageType();
  switch (type) {
    case Message.Hello: {
      const m = env.message(new Hello()) as Hello;
      return { type: "hello", ticket: m.ticket() ?? "", clientVersion: m.clientVersion() ?? "", protocolVersion: m.protocolVersion() };
    }
    case Message.Move: {
      const m = env.message(new Move()) as Move;
      return { type: "move", transform: readTransform(m.transform()), clientTimeMs: Number(m.clientTimeMs()) };
    }
    case Message.ChatSend: {
      const m = env.message(new ChatSend()) as ChatSend;
      return { type: "chat", text: m.text() ?? "", requestId: m.requestId() };
    }
    case Message.EmoteSend: {
      const m = env.message(new EmoteSend()) as EmoteSend;
      return { type: "emote", emote: m.emote() ?? "", requestId: m.requestId() };
    }
    case Message.StateSet: {
      const m = env.message(new StateSet()) as StateSet;
      const v = m.valueArray();
      return {
        type: "stateSet",
        key: m.key() ?? "",
        value: v === null ? null : v.slice(),
        compareAndSet: m.compareAndSet(),
        expectedVersion: Number(m.expectedVersion()),
        delete: m.delete_(),
        requestId: m.requestId(),
      };
    }
    case Message.Ping: {
      const m = env.message(new Ping()) as Ping;
      return { type: "ping", clientTimeMs: Number(m.clientTimeMs()), requestId: m.requestId() };
    }
    case Message.Leave:
      return { type: "leave" };
    default:
      throw new PlazaError("malformed_frame", `not a client -> relay message: ${Message[type] ?? type}`);
  }
}

/** The union tag of a frame (0 when it has none). */
export function messageTypeOf(bytes: Uint8Array): Message {
  return readEnvelope(bytes).messageType();
}
