package wire

import (
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

// The client -> relay encoders below are what a Go client (the relay's
// tests, benchmarks, load generators) sends. The relay itself never calls
// them on its hot path.

// Hello encodes a Hello frame.
func (e *Encoder) Hello(ticket, clientVersion string, protocolVersion uint16) []byte {
	b := e.b
	t, cv := e.str(ticket), e.str(clientVersion)
	protocol.HelloStart(b)
	protocol.HelloAddTicket(b, t)
	protocol.HelloAddClientVersion(b, cv)
	protocol.HelloAddProtocolVersion(b, protocolVersion)
	return e.finish(protocol.MessageHello, protocol.HelloEnd(b))
}

// Move encodes a Move frame.
func (e *Encoder) Move(t *Transform, clientTimeMs int64) []byte {
	b := e.b
	protocol.MoveStart(b)
	protocol.MoveAddTransform(b, e.transform(t))
	protocol.MoveAddClientTimeMs(b, clientTimeMs)
	return e.finish(protocol.MessageMove, protocol.MoveEnd(b))
}

// ChatSend encodes a ChatSend frame.
func (e *Encoder) ChatSend(text string, requestID uint32) []byte {
	b := e.b
	t := e.b.CreateString(text)
	protocol.ChatSendStart(b)
	protocol.ChatSendAddText(b, t)
	protocol.ChatSendAddRequestId(b, requestID)
	return e.finish(protocol.MessageChatSend, protocol.ChatSendEnd(b))
}

// EmoteSend encodes an EmoteSend frame.
func (e *Encoder) EmoteSend(emote string, requestID uint32) []byte {
	b := e.b
	t := e.b.CreateString(emote)
	protocol.EmoteSendStart(b)
	protocol.EmoteSendAddEmote(b, t)
	protocol.EmoteSendAddRequestId(b, requestID)
	return e.finish(protocol.MessageEmoteSend, protocol.EmoteSendEnd(b))
}

// StateSet encodes a StateSet frame.
func (e *Encoder) StateSet(s *StateSet) []byte {
	b := e.b
	k := e.b.CreateString(s.Key)
	var v flatbuffers.UOffsetT
	if s.Value != nil {
		v = b.CreateByteVector(s.Value)
	}
	protocol.StateSetStart(b)
	protocol.StateSetAddKey(b, k)
	if s.Value != nil {
		protocol.StateSetAddValue(b, v)
	}
	protocol.StateSetAddCompareAndSet(b, s.CompareAndSet)
	protocol.StateSetAddExpectedVersion(b, s.ExpectedVersion)
	protocol.StateSetAddDelete(b, s.Delete)
	protocol.StateSetAddRequestId(b, s.RequestID)
	return e.finish(protocol.MessageStateSet, protocol.StateSetEnd(b))
}

// Ping encodes a Ping frame.
func (e *Encoder) Ping(clientTimeMs int64, requestID uint32) []byte {
	b := e.b
	protocol.PingStart(b)
	protocol.PingAddClientTimeMs(b, clientTimeMs)
	protocol.PingAddRequestId(b, requestID)
	return e.finish(protocol.MessagePing, protocol.PingEnd(b))
}

// Raw wraps an arbitrary union tag and already-built table; tests use it to
// send relay -> client messages or unknown tags from a client.
func (e *Encoder) Raw(tag protocol.Message, build func(b *flatbuffers.Builder) flatbuffers.UOffsetT) []byte {
	return e.finish(tag, build(e.b))
}

// Leave encodes a Leave frame (an empty table).
func (e *Encoder) Leave() []byte {
	protocol.LeaveStart(e.b)
	return e.finish(protocol.MessageLeave, protocol.LeaveEnd(e.b))
}
