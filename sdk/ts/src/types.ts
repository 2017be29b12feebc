// Plain data types of the SDK: what the relay's FlatBuffers tables become
// once decoded. Every 64-bit field of the protocol (sequence, version,
// tick, Unix-ms times) is a JavaScript number here, exact below 2^53.

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

export interface Quat {
  x: number;
  y: number;
  z: number;
  w: number;
}

/** An avatar's pose, as `plaza.common.Transform`. */
export interface Transform {
  position: Vec3;
  rotation: Quat;
  velocity: Vec3;
  /** Application-defined animation state id (uint16). */
  animation: number;
  /** Application-defined bit flags (uint16). */
  flags: number;
}

/** What `move` takes: rotation defaults to identity, the rest to 0. */
export interface TransformInput {
  position: Vec3;
  rotation?: Quat;
  velocity?: Vec3;
  animation?: number;
  flags?: number;
}

/** A room member, as `plaza.protocol.Member`. */
export interface MemberInfo {
  /** Room-local id, unique for the room's lifetime; movement uses it. */
  memberId: number;
  userId: string;
  displayName: string;
  /** Last known transform (the snapshot's, then each movement batch's). */
  transform: Transform;
  joinedAtMs: number;
}

/** One key of room state, as `plaza.protocol.StateEntry`. */
export interface StateEntryInfo {
  key: string;
  value: Uint8Array;
  /** Never repeats for a key within a room lifetime (docs/protocol.md §5). */
  version: number;
  /** Member id of the last writer; 0 = the server or an operator. */
  updatedBy: number;
}

/** `plaza.protocol.SessionLimits`: self-throttle to these. */
export interface SessionLimitsInfo {
  maxFrameBytes: number;
  maxChatBytes: number;
  movesPerSecond: number;
  moveBurst: number;
  chatsPerSecond: number;
  chatBurst: number;
  emotesPerSecond: number;
  emoteBurst: number;
  stateSetsPerSecond: number;
  stateSetBurst: number;
  maxStateKeyBytes: number;
  maxStateValueBytes: number;
  maxStateKeys: number;
}

/** The room snapshot of a `Welcome`, decoded. */
export interface WelcomeData {
  sessionId: string;
  memberId: number;
  roomId: string;
  worldId: string;
  members: MemberInfo[];
  state: StateEntryInfo[];
  sequence: number;
  serverTimeMs: number;
  tickRateHz: number;
  limits: SessionLimitsInfo;
  protocolVersion: number;
  interestRadius: number;
}

/** One avatar of a movement batch. */
export interface AvatarUpdate {
  memberId: number;
  /** Low 32 bits of the mover's `client_time_ms`, echoed verbatim. */
  clientTimeMsLow: number;
  transform: Transform;
}

export const IDENTITY_ROTATION: Readonly<Quat> = Object.freeze({ x: 0, y: 0, z: 0, w: 1 });
