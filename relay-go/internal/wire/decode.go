// Package wire turns client bytes into checked Go values and relay values
// into FlatBuffers frames. Decoding never trusts the buffer: Decode verifies
// every offset it will follow first (see verify.go) and recovers from any
// panic the generated accessors could still raise.
package wire

import (
	"encoding/binary"
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

// DecodeError is a client frame the relay refuses. Code is the ErrorCode the
// session answers with; Type is the union tag when it could be read (0 when
// not) and RequestID the request id when the table carried one.
type DecodeError struct {
	Code      common.ErrorCode
	Type      protocol.Message
	RequestID uint32
	Msg       string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("decode %s: %s: %s", protocol.EnumNamesMessage[e.Type], common.EnumNamesErrorCode[e.Code], e.Msg)
}

// Transform mirrors plaza.common.Transform.
type Transform struct {
	Position  [3]float32
	Rotation  [4]float32
	Velocity  [3]float32
	Animation uint16
	Flags     uint16
}

// Hello is a decoded plaza.protocol.Hello.
type Hello struct {
	Ticket          string
	ClientVersion   string
	ProtocolVersion uint16
}

// Move is a decoded plaza.protocol.Move.
type Move struct {
	Transform    Transform
	ClientTimeMs int64
}

// ChatSend is a decoded plaza.protocol.ChatSend. Text is not yet checked
// against any limit or for UTF-8.
type ChatSend struct {
	Text      string
	RequestID uint32
}

// EmoteSend is a decoded plaza.protocol.EmoteSend.
type EmoteSend struct {
	Emote     string
	RequestID uint32
}

// StateSet is a decoded plaza.protocol.StateSet. Value is a copy owned by
// the caller.
type StateSet struct {
	Key             string
	Value           []byte
	CompareAndSet   bool
	ExpectedVersion uint64
	Delete          bool
	RequestID       uint32
}

// Ping is a decoded plaza.protocol.Ping.
type Ping struct {
	ClientTimeMs int64
	RequestID    uint32
}

// Frame is one decoded client frame. Type selects which field is set; the
// others are zero (a Leave has no field). A flat struct instead of an interface keeps the receive
// path free of per-message allocations (apart from copied strings).
type Frame struct {
	Type  protocol.Message
	Hello Hello
	Move  Move
	Chat  ChatSend
	Emote EmoteSend
	State StateSet
	Ping  Ping
}

// clientFields lists the client -> relay messages and their table layouts.
var clientFields = map[protocol.Message][]field{
	protocol.MessageHello:     helloFields,
	protocol.MessageMove:      moveFields,
	protocol.MessageChatSend:  chatSendFields,
	protocol.MessageEmoteSend: emoteSendFields,
	protocol.MessageStateSet:  stateSetFields,
	protocol.MessagePing:      pingFields,
	protocol.MessageLeave:     leaveFields,
}

// maxMessageTag is the highest union tag this build knows.
const maxMessageTag = protocol.MessageLeave

// Verify checks that buf is a well-formed Envelope holding a client ->
// relay message, and returns its union tag. Errors are *DecodeError with
// MalformedFrame, UnknownMessage or NotClientMessage.
func Verify(buf []byte) (protocol.Message, error) {
	v := verifier{buf: buf}
	root, err := v.root()
	if err != nil {
		return 0, err
	}
	body, err := v.verifyTable(root, envelopeFields)
	if err != nil {
		return 0, err
	}
	vt, vtSize, _ := v.table(root)
	var tag protocol.Message
	if p := v.fieldPos(root, vt, vtSize, 0); p != 0 {
		tag = protocol.Message(buf[p])
	}
	switch {
	case tag == protocol.MessageNONE:
		return 0, &DecodeError{Code: common.ErrorCodeMalformedFrame, Msg: "envelope holds no message"}
	case tag > maxMessageTag:
		return tag, &DecodeError{Code: common.ErrorCodeUnknownMessage, Type: tag, Msg: fmt.Sprintf("unknown message type %d", tag)}
	case body == 0:
		return tag, &DecodeError{Code: common.ErrorCodeMalformedFrame, Type: tag, Msg: "message type without a body"}
	}
	fields, ok := clientFields[tag]
	if !ok {
		return tag, &DecodeError{Code: common.ErrorCodeNotClientMessage, Type: tag, Msg: "relay -> client message sent by a client"}
	}
	if _, err := v.verifyTable(body, fields); err != nil {
		de := err.(*DecodeError)
		de.Type = tag
		return tag, de
	}
	return tag, nil
}

// Decode verifies buf and decodes it into f. f is overwritten; strings and
// byte slices in it are copies, so buf may be reused after Decode returns.
// Any error is a *DecodeError.
func Decode(buf []byte, f *Frame) (err error) {
	*f = Frame{}
	tag, err := Verify(buf)
	if err != nil {
		return err
	}
	// Defense in depth: Verify proved every offset the accessors below follow,
	// but a verifier bug must cost one frame, never the process.
	defer func() {
		if r := recover(); r != nil {
			err = &DecodeError{Code: common.ErrorCodeMalformedFrame, Type: tag, Msg: fmt.Sprintf("decoder panic: %v", r)}
		}
	}()
	env := protocol.GetRootAsEnvelope(buf, 0)
	var tab flatbuffers.Table
	env.Message(&tab)
	f.Type = tag
	switch tag {
	case protocol.MessageHello:
		var m protocol.Hello
		m.Init(tab.Bytes, tab.Pos)
		f.Hello = Hello{Ticket: string(m.Ticket()), ClientVersion: string(m.ClientVersion()), ProtocolVersion: m.ProtocolVersion()}
	case protocol.MessageMove:
		var m protocol.Move
		m.Init(tab.Bytes, tab.Pos)
		if o := tab.Offset(4); o != 0 {
			f.Move.Transform = readTransform(buf[int(tab.Pos)+int(o):])
		}
		f.Move.ClientTimeMs = m.ClientTimeMs()
	case protocol.MessageChatSend:
		var m protocol.ChatSend
		m.Init(tab.Bytes, tab.Pos)
		f.Chat = ChatSend{Text: string(m.Text()), RequestID: m.RequestId()}
	case protocol.MessageEmoteSend:
		var m protocol.EmoteSend
		m.Init(tab.Bytes, tab.Pos)
		f.Emote = EmoteSend{Emote: string(m.Emote()), RequestID: m.RequestId()}
	case protocol.MessageStateSet:
		var m protocol.StateSet
		m.Init(tab.Bytes, tab.Pos)
		f.State = StateSet{
			Key:             string(m.Key()),
			CompareAndSet:   m.CompareAndSet(),
			ExpectedVersion: m.ExpectedVersion(),
			Delete:          m.Delete(),
			RequestID:       m.RequestId(),
		}
		if v := m.ValueBytes(); v != nil {
			f.State.Value = append([]byte(nil), v...)
		}
	case protocol.MessagePing:
		var m protocol.Ping
		m.Init(tab.Bytes, tab.Pos)
		f.Ping = Ping{ClientTimeMs: m.ClientTimeMs(), RequestID: m.RequestId()}
	case protocol.MessageLeave:
		// No fields yet: the tag (with its table) is the message.
	}
	return nil
}

// RequestID returns the request id a decoded frame carries (0 when none).
func (f *Frame) RequestID() uint32 {
	switch f.Type {
	case protocol.MessageChatSend:
		return f.Chat.RequestID
	case protocol.MessageEmoteSend:
		return f.Emote.RequestID
	case protocol.MessageStateSet:
		return f.State.RequestID
	case protocol.MessagePing:
		return f.Ping.RequestID
	}
	return 0
}

// readTransform reads the 44-byte inline struct at the start of b.
func readTransform(b []byte) Transform {
	_ = b[TransformSize-1]
	f := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:])) }
	return Transform{
		Position:  [3]float32{f(0), f(1), f(2)},
		Rotation:  [4]float32{f(3), f(4), f(5), f(6)},
		Velocity:  [3]float32{f(7), f(8), f(9)},
		Animation: binary.LittleEndian.Uint16(b[40:]),
		Flags:     binary.LittleEndian.Uint16(b[42:]),
	}
}

// PeekType returns the union tag of an Envelope frame (NONE when the frame
// is too short or malformed). For relay-built frames, metrics use it.
func PeekType(b []byte) protocol.Message {
	v := verifier{buf: b}
	root, err := v.root()
	if err != nil {
		return protocol.MessageNONE
	}
	vt, vtSize, err := v.table(root)
	if err != nil {
		return protocol.MessageNONE
	}
	p := v.fieldPos(root, vt, vtSize, 0)
	if p == 0 || !v.inBounds(p, 1) {
		return protocol.MessageNONE
	}
	return protocol.Message(b[p])
}
