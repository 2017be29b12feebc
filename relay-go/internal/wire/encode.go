package wire

import (
	"sync"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

// MemberInfo is a room member as encoded in snapshots and MemberJoined.
type MemberInfo struct {
	MemberID    uint32
	UserID      string
	DisplayName string
	Transform   Transform
	JoinedAtMs  int64
}

// StateEntry is one key of room state.
type StateEntry struct {
	Key       string
	Value     []byte
	Version   uint64
	UpdatedBy uint32
}

// Snapshot is the room as a joining member first sees it.
type Snapshot struct {
	RoomID   string
	WorldID  string
	Members  []MemberInfo
	State    []StateEntry
	Sequence uint64
}

// SessionLimits mirrors plaza.protocol.SessionLimits.
type SessionLimits struct {
	MaxFrameBytes      uint32
	MaxChatBytes       uint16
	MovesPerSecond     float32
	MoveBurst          uint16
	ChatsPerSecond     float32
	ChatBurst          uint16
	EmotesPerSecond    float32
	EmoteBurst         uint16
	StateSetsPerSecond float32
	StateSetBurst      uint16
	MaxStateKeyBytes   uint16
	MaxStateValueBytes uint32
	MaxStateKeys       uint16
}

// Welcome is the reply to a valid Hello.
type Welcome struct {
	SessionID      string
	MemberID       uint32
	Snapshot       Snapshot
	ServerTimeMs   int64
	TickRateHz     uint16
	Limits         SessionLimits
	InterestRadius float32
}

// Avatar is one entry of a movement batch.
type Avatar struct {
	MemberID        uint32
	ClientTimeMsLow uint32
	Transform       Transform
}

// Encoder builds relay frames. It reuses one builder, so it is not safe for
// concurrent use; every returned slice is a fresh copy the caller owns and
// may share read-only between any number of sessions.
type Encoder struct {
	b *flatbuffers.Builder
}

// NewEncoder returns an Encoder with a builder of the given initial size.
func NewEncoder(initial int) *Encoder {
	return &Encoder{b: flatbuffers.NewBuilder(initial)}
}

var encoderPool = sync.Pool{New: func() any { return NewEncoder(256) }}

// GetEncoder takes an Encoder from a process-wide pool; PutEncoder returns it.
func GetEncoder() *Encoder  { return encoderPool.Get().(*Encoder) }
func PutEncoder(e *Encoder) { encoderPool.Put(e) }

// finish wraps the message table in an Envelope and copies the bytes out.
func (e *Encoder) finish(tag protocol.Message, msg flatbuffers.UOffsetT) []byte {
	b := e.b
	protocol.EnvelopeStart(b)
	protocol.EnvelopeAddMessageType(b, tag)
	protocol.EnvelopeAddMessage(b, msg)
	protocol.FinishEnvelopeBuffer(b, protocol.EnvelopeEnd(b))
	out := append([]byte(nil), b.FinishedBytes()...)
	b.Reset()
	return out
}

func (e *Encoder) str(s string) flatbuffers.UOffsetT {
	if s == "" {
		return 0
	}
	return e.b.CreateString(s)
}

func (e *Encoder) transform(t *Transform) flatbuffers.UOffsetT {
	return common.CreateTransform(e.b,
		t.Position[0], t.Position[1], t.Position[2],
		t.Rotation[0], t.Rotation[1], t.Rotation[2], t.Rotation[3],
		t.Velocity[0], t.Velocity[1], t.Velocity[2],
		t.Animation, t.Flags)
}

func (e *Encoder) member(m *MemberInfo) flatbuffers.UOffsetT {
	b := e.b
	uid, name := e.str(m.UserID), e.str(m.DisplayName)
	protocol.MemberStart(b)
	protocol.MemberAddMemberId(b, m.MemberID)
	protocol.MemberAddUserId(b, uid)
	protocol.MemberAddDisplayName(b, name)
	protocol.MemberAddTransform(b, e.transform(&m.Transform))
	protocol.MemberAddJoinedAtMs(b, m.JoinedAtMs)
	return protocol.MemberEnd(b)
}

func (e *Encoder) stateEntry(s *StateEntry) flatbuffers.UOffsetT {
	b := e.b
	key := e.str(s.Key)
	var val flatbuffers.UOffsetT
	if s.Value != nil {
		val = b.CreateByteVector(s.Value)
	}
	protocol.StateEntryStart(b)
	protocol.StateEntryAddKey(b, key)
	if s.Value != nil {
		protocol.StateEntryAddValue(b, val)
	}
	protocol.StateEntryAddVersion(b, s.Version)
	protocol.StateEntryAddUpdatedBy(b, s.UpdatedBy)
	return protocol.StateEntryEnd(b)
}

// Welcome encodes a Welcome frame.
func (e *Encoder) Welcome(w *Welcome) []byte {
	b := e.b
	s := &w.Snapshot
	members := make([]flatbuffers.UOffsetT, len(s.Members))
	for i := range s.Members {
		members[i] = e.member(&s.Members[i])
	}
	protocol.RoomSnapshotStartMembersVector(b, len(members))
	for i := len(members) - 1; i >= 0; i-- {
		b.PrependUOffsetT(members[i])
	}
	membersVec := b.EndVector(len(members))
	entries := make([]flatbuffers.UOffsetT, len(s.State))
	for i := range s.State {
		entries[i] = e.stateEntry(&s.State[i])
	}
	protocol.RoomSnapshotStartStateVector(b, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		b.PrependUOffsetT(entries[i])
	}
	stateVec := b.EndVector(len(entries))
	roomID, worldID := e.str(s.RoomID), e.str(s.WorldID)
	protocol.RoomSnapshotStart(b)
	protocol.RoomSnapshotAddRoomId(b, roomID)
	protocol.RoomSnapshotAddWorldId(b, worldID)
	protocol.RoomSnapshotAddMembers(b, membersVec)
	protocol.RoomSnapshotAddState(b, stateVec)
	protocol.RoomSnapshotAddSequence(b, s.Sequence)
	snap := protocol.RoomSnapshotEnd(b)

	l := &w.Limits
	protocol.SessionLimitsStart(b)
	protocol.SessionLimitsAddMaxFrameBytes(b, l.MaxFrameBytes)
	protocol.SessionLimitsAddMaxChatBytes(b, l.MaxChatBytes)
	protocol.SessionLimitsAddMovesPerSecond(b, l.MovesPerSecond)
	protocol.SessionLimitsAddMoveBurst(b, l.MoveBurst)
	protocol.SessionLimitsAddChatsPerSecond(b, l.ChatsPerSecond)
	protocol.SessionLimitsAddChatBurst(b, l.ChatBurst)
	protocol.SessionLimitsAddEmotesPerSecond(b, l.EmotesPerSecond)
	protocol.SessionLimitsAddEmoteBurst(b, l.EmoteBurst)
	protocol.SessionLimitsAddStateSetsPerSecond(b, l.StateSetsPerSecond)
	protocol.SessionLimitsAddStateSetBurst(b, l.StateSetBurst)
	protocol.SessionLimitsAddMaxStateKeyBytes(b, l.MaxStateKeyBytes)
	protocol.SessionLimitsAddMaxStateValueBytes(b, l.MaxStateValueBytes)
	protocol.SessionLimitsAddMaxStateKeys(b, l.MaxStateKeys)
	limits := protocol.SessionLimitsEnd(b)

	sid := e.str(w.SessionID)
	protocol.WelcomeStart(b)
	protocol.WelcomeAddSessionId(b, sid)
	protocol.WelcomeAddMemberId(b, w.MemberID)
	protocol.WelcomeAddSnapshot(b, snap)
	protocol.WelcomeAddServerTimeMs(b, w.ServerTimeMs)
	protocol.WelcomeAddTickRateHz(b, w.TickRateHz)
	protocol.WelcomeAddLimits(b, limits)
	protocol.WelcomeAddProtocolVersion(b, uint16(common.ProtocolVersionV1))
	protocol.WelcomeAddInterestRadius(b, w.InterestRadius)
	return e.finish(protocol.MessageWelcome, protocol.WelcomeEnd(b))
}

// MemberJoined encodes a MemberJoined frame.
func (e *Encoder) MemberJoined(m *MemberInfo, seq uint64) []byte {
	b := e.b
	mem := e.member(m)
	protocol.MemberJoinedStart(b)
	protocol.MemberJoinedAddMember(b, mem)
	protocol.MemberJoinedAddSequence(b, seq)
	return e.finish(protocol.MessageMemberJoined, protocol.MemberJoinedEnd(b))
}

// MemberLeft encodes a MemberLeft frame.
func (e *Encoder) MemberLeft(memberID uint32, userID string, reason common.LeaveReason, seq uint64) []byte {
	b := e.b
	uid := e.str(userID)
	protocol.MemberLeftStart(b)
	protocol.MemberLeftAddMemberId(b, memberID)
	protocol.MemberLeftAddUserId(b, uid)
	protocol.MemberLeftAddReason(b, reason)
	protocol.MemberLeftAddSequence(b, seq)
	return e.finish(protocol.MessageMemberLeft, protocol.MemberLeftEnd(b))
}

// MovementBatch encodes a MovementBatch frame with avatars in the given order.
// It is the tick's hot path: the vector space is reserved once and each
// 52-byte AvatarTransform is written with Place* calls (no per-field Prep),
// in the exact layout CreateAvatarTransform produces.
func (e *Encoder) MovementBatch(tick uint64, serverTimeMs int64, avatars []Avatar) []byte {
	b := e.b
	protocol.MovementBatchStartAvatarsVector(b, len(avatars))
	for i := len(avatars) - 1; i >= 0; i-- {
		a := &avatars[i]
		t := &a.Transform
		b.PlaceUint16(t.Flags)
		b.PlaceUint16(t.Animation)
		b.PlaceFloat32(t.Velocity[2])
		b.PlaceFloat32(t.Velocity[1])
		b.PlaceFloat32(t.Velocity[0])
		b.PlaceFloat32(t.Rotation[3])
		b.PlaceFloat32(t.Rotation[2])
		b.PlaceFloat32(t.Rotation[1])
		b.PlaceFloat32(t.Rotation[0])
		b.PlaceFloat32(t.Position[2])
		b.PlaceFloat32(t.Position[1])
		b.PlaceFloat32(t.Position[0])
		b.PlaceUint32(a.ClientTimeMsLow)
		b.PlaceUint32(a.MemberID)
	}
	vec := b.EndVector(len(avatars))
	protocol.MovementBatchStart(b)
	protocol.MovementBatchAddTick(b, tick)
	protocol.MovementBatchAddServerTimeMs(b, serverTimeMs)
	protocol.MovementBatchAddAvatars(b, vec)
	return e.finish(protocol.MessageMovementBatch, protocol.MovementBatchEnd(b))
}

// ChatMessage encodes a ChatMessage frame.
func (e *Encoder) ChatMessage(seq uint64, memberID uint32, userID, name, text string, serverTimeMs int64, requestID uint32) []byte {
	b := e.b
	uid, dn, txt := e.str(userID), e.str(name), e.str(text)
	protocol.ChatMessageStart(b)
	protocol.ChatMessageAddSequence(b, seq)
	protocol.ChatMessageAddMemberId(b, memberID)
	protocol.ChatMessageAddUserId(b, uid)
	protocol.ChatMessageAddDisplayName(b, dn)
	protocol.ChatMessageAddText(b, txt)
	protocol.ChatMessageAddServerTimeMs(b, serverTimeMs)
	protocol.ChatMessageAddRequestId(b, requestID)
	return e.finish(protocol.MessageChatMessage, protocol.ChatMessageEnd(b))
}

// EmotePlayed encodes an EmotePlayed frame.
func (e *Encoder) EmotePlayed(seq uint64, memberID uint32, emote string, serverTimeMs int64, requestID uint32) []byte {
	b := e.b
	em := e.str(emote)
	protocol.EmotePlayedStart(b)
	protocol.EmotePlayedAddSequence(b, seq)
	protocol.EmotePlayedAddMemberId(b, memberID)
	protocol.EmotePlayedAddEmote(b, em)
	protocol.EmotePlayedAddServerTimeMs(b, serverTimeMs)
	protocol.EmotePlayedAddRequestId(b, requestID)
	return e.finish(protocol.MessageEmotePlayed, protocol.EmotePlayedEnd(b))
}

// StateChanged encodes a StateChanged frame.
func (e *Encoder) StateChanged(seq uint64, entry *StateEntry, deleted bool, serverTimeMs int64, requestID uint32) []byte {
	b := e.b
	en := e.stateEntry(entry)
	protocol.StateChangedStart(b)
	protocol.StateChangedAddSequence(b, seq)
	protocol.StateChangedAddEntry(b, en)
	protocol.StateChangedAddDeleted(b, deleted)
	protocol.StateChangedAddServerTimeMs(b, serverTimeMs)
	protocol.StateChangedAddRequestId(b, requestID)
	return e.finish(protocol.MessageStateChanged, protocol.StateChangedEnd(b))
}

// Pong encodes a Pong frame.
func (e *Encoder) Pong(clientTimeMs, serverTimeMs int64, requestID uint32) []byte {
	b := e.b
	protocol.PongStart(b)
	protocol.PongAddClientTimeMs(b, clientTimeMs)
	protocol.PongAddServerTimeMs(b, serverTimeMs)
	protocol.PongAddRequestId(b, requestID)
	return e.finish(protocol.MessagePong, protocol.PongEnd(b))
}

// Error encodes an Error frame.
func (e *Encoder) Error(code common.ErrorCode, msg string, requestID uint32, requestType protocol.Message) []byte {
	b := e.b
	m := e.str(msg)
	protocol.ErrorStart(b)
	protocol.ErrorAddCode(b, code)
	protocol.ErrorAddMessage(b, m)
	protocol.ErrorAddRequestId(b, requestID)
	protocol.ErrorAddRequestType(b, byte(requestType))
	return e.finish(protocol.MessageError, protocol.ErrorEnd(b))
}

// DisconnectNotice encodes a DisconnectNotice frame; it always carries a
// ResumeHint (rejoin=false tells the client not to come back on its own).
func (e *Encoder) DisconnectNotice(reason string, code common.CloseCode, rejoin bool, retryAfterMs uint32, roomID string) []byte {
	b := e.b
	rid := e.str(roomID)
	protocol.ResumeHintStart(b)
	protocol.ResumeHintAddRejoin(b, rejoin)
	protocol.ResumeHintAddRetryAfterMs(b, retryAfterMs)
	protocol.ResumeHintAddRoomId(b, rid)
	hint := protocol.ResumeHintEnd(b)
	r := e.str(reason)
	protocol.DisconnectNoticeStart(b)
	protocol.DisconnectNoticeAddReason(b, r)
	protocol.DisconnectNoticeAddCloseCode(b, code)
	protocol.DisconnectNoticeAddResume(b, hint)
	return e.finish(protocol.MessageDisconnectNotice, protocol.DisconnectNoticeEnd(b))
}

// Announcement encodes an Announcement frame.
func (e *Encoder) Announcement(text string, serverTimeMs int64, seq uint64) []byte {
	b := e.b
	t := e.str(text)
	protocol.AnnouncementStart(b)
	protocol.AnnouncementAddText(b, t)
	protocol.AnnouncementAddServerTimeMs(b, serverTimeMs)
	protocol.AnnouncementAddSequence(b, seq)
	return e.finish(protocol.MessageAnnouncement, protocol.AnnouncementEnd(b))
}
