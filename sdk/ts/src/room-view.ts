// The client's model of the room: built from a Welcome's snapshot, then kept
// current by the room's events in sequence order (protocol.md §4). A new
// Welcome (after a reconnect) replaces it whole.
import type { WelcomeData, MemberInfo, SessionLimitsInfo, StateEntryInfo, AvatarUpdate } from "./types.js";

export class RoomView {
  readonly roomId: string;
  readonly worldId: string;
  readonly sessionId: string;
  /** Your own member id in this room. */
  readonly memberId: number;
  readonly tickRateHz: number;
  readonly interestRadius: number;
  readonly limits: SessionLimitsInfo;
  /** Relay clock at the Welcome (Unix ms). */
  readonly serverTimeMs: number;
  /** The room sequence of the last reliable event applied. */
  sequence: number;
  /** Everyone present, you included, by member id. */
  readonly members = new Map<number, MemberInfo>();
  /** Room state by key. */
  readonly state = new Map<string, StateEntryInfo>();

  constructor(w: WelcomeData) {
    this.roomId = w.roomId;
    this.worldId = w.worldId;
    this.sessionId = w.sessionId;
    this.memberId = w.memberId;
    this.tickRateHz = w.tickRateHz;
    this.interestRadius = w.interestRadius;
    this.limits = w.limits;
    this.serverTimeMs = w.serverTimeMs;
    this.sequence = w.sequence;
    for (const m of w.members) this.members.set(m.memberId, m);
    for (const e of w.state) this.state.set(e.key, e);
  }

  /** Your own member record (undefined only if the snapshot lacked it). */
  get self(): MemberInfo | undefined {
    return this.members.get(this.memberId);
  }

  /** Records a reliable event's sequence (the view is current to it). */
  advance(sequence: number): void {
    if (sequence > this.sequence) this.sequence = sequence;
  }

  memberJoined(m: MemberInfo, sequence: number): void {
    this.members.set(m.memberId, m);
    this.advance(sequence);
  }

  memberLeft(memberId: number, sequence: number): void {
    this.members.delete(memberId);
    this.advance(sequence);
  }

  stateChanged(entry: StateEntryInfo, deleted: boolean, sequence: number): void {
    if (deleted) this.state.delete(entry.key);
    else this.state.set(entry.key, entry);
    this.advance(sequence);
  }

  /** Moves members to the batch's transforms (unknown member ids are ignored). */
  moved(avatars: readonly AvatarUpdate[]): void {
    for (const a of avatars) {
      const m = this.members.get(a.memberId);
      if (m !== undefined) m.transform = a.transform;
    }
  }
}
