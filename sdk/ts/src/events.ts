// The payloads of the events PlazaClient emits (README "Reading").
import type { CloseCode } from "../../../schemas/gen/ts/plaza/common/close-code.js";
import type { ErrorCode } from "../../../schemas/gen/ts/plaza/common/error-code.js";
import type { LeaveReason } from "../../../schemas/gen/ts/plaza/common/leave-reason.js";
import type { RoomView } from "./room-view.js";
import type { AvatarUpdate, MemberInfo } from "./types.js";

export type ClientStatus = "idle" | "joining" | "connected" | "reconnecting" | "closed";

export interface WelcomeEvent {
  room: RoomView;
  /** True when this Welcome ends a reconnect (the view was rebuilt). */
  resumed: boolean;
}

export interface MemberJoinedEvent {
  member: MemberInfo;
  sequence: number;
}

export interface MemberLeftEvent {
  memberId: number;
  userId: string;
  reason: LeaveReason;
  /** The `LeaveReason` name: "Left", "Kicked", "Drained", ... */
  reasonName: string;
  sequence: number;
}

export interface MovementEvent {
  tick: number;
  serverTimeMs: number;
  /** Avatars that moved, your own member excluded. */
  avatars: AvatarUpdate[];
}

export interface ChatEvent {
  sequence: number;
  memberId: number;
  userId: string;
  displayName: string;
  text: string;
  serverTimeMs: number;
  /** The sender's request id; meaningful to the sender only. */
  requestId: number;
  /** True when this is your own line (the acknowledgement of your chat). */
  own: boolean;
}

export interface EmoteEvent {
  sequence: number;
  memberId: number;
  emote: string;
  serverTimeMs: number;
  requestId: number;
  own: boolean;
}

export interface StateChangeEvent {
  sequence: number;
  key: string;
  /** null for a delete. */
  value: Uint8Array | null;
  version: number;
  updatedBy: number;
  deleted: boolean;
  serverTimeMs: number;
  requestId: number;
  own: boolean;
}

export interface AnnouncementEvent {
  text: string;
  serverTimeMs: number;
  sequence: number;
}

export interface RelayErrorEvent {
  code: ErrorCode;
  /** The `ErrorCode` name: "RateLimited", "StateVersionConflict", ... */
  codeName: string;
  message: string;
  requestId: number;
  /** The union tag of the frame that caused it (0 when undecodable). */
  requestType: number;
}

export interface ResumeHintInfo {
  rejoin: boolean;
  retryAfterMs: number;
  roomId: string;
}

export interface DisconnectNoticeEvent {
  reason: string;
  closeCode: CloseCode;
  closeName: string;
  resume: ResumeHintInfo;
}

export interface PongEvent {
  rttMs: number;
  clockOffsetMs: number;
  serverTimeMs: number;
}

export interface ClosedEvent {
  /** The WebSocket close code; 1006 when the connection dropped without one. */
  code: number;
  reason: string;
  /** docs/protocol.md §7: terminal codes are never reconnected. */
  terminal: boolean;
  /** True when the client is about to rejoin. */
  willReconnect: boolean;
}

export interface ReconnectingEvent {
  /** 0-based attempt number of the reconnect rule. */
  attempt: number;
  delayMs: number;
  roomId: string;
  /** Why: "close_4006", "dropped", "join_http_503", ... */
  cause: string;
}

export interface ProtocolErrorEvent {
  /** A relay frame the SDK could not decode (it was dropped). */
  message: string;
}

/** Every event of PlazaClient.on, by name. */
export interface PlazaEvents {
  welcome: WelcomeEvent;
  memberJoined: MemberJoinedEvent;
  memberLeft: MemberLeftEvent;
  movement: MovementEvent;
  chat: ChatEvent;
  emote: EmoteEvent;
  stateChanged: StateChangeEvent;
  announcement: AnnouncementEvent;
  relayError: RelayErrorEvent;
  disconnectNotice: DisconnectNoticeEvent;
  closed: ClosedEvent;
  reconnecting: ReconnectingEvent;
  pong: PongEvent;
  status: ClientStatus;
  protocolError: ProtocolErrorEvent;
}
