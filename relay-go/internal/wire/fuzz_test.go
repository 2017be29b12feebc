package wire

import (
	"errors"
	"reflect"
	"testing"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

// reencode builds the frame a decoded value came from with our encoder.
func reencode(f *Frame) []byte {
	e := NewEncoder(64)
	switch f.Type {
	case protocol.MessageHello:
		return e.Hello(f.Hello.Ticket, f.Hello.ClientVersion, f.Hello.ProtocolVersion)
	case protocol.MessageMove:
		return e.Move(&f.Move.Transform, f.Move.ClientTimeMs)
	case protocol.MessageChatSend:
		return e.ChatSend(f.Chat.Text, f.Chat.RequestID)
	case protocol.MessageEmoteSend:
		return e.EmoteSend(f.Emote.Emote, f.Emote.RequestID)
	case protocol.MessageStateSet:
		return e.StateSet(&f.State)
	case protocol.MessagePing:
		return e.Ping(f.Ping.ClientTimeMs, f.Ping.RequestID)
	case protocol.MessageLeave:
		return e.Leave()
	}
	return nil
}

// fuzzDecode is the property every decoder fuzz target checks: Decode never
// panics, fails only with a *DecodeError, and whatever it accepts survives
// an encode/decode round trip unchanged.
func fuzzDecode(t *testing.T, b []byte, want protocol.Message) {
	var f Frame
	err := Decode(b, &f)
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error %T is not a *DecodeError", err)
		}
		return
	}
	if want != 0 && f.Type != want {
		return
	}
	var g Frame
	if err := Decode(reencode(&f), &g); err != nil {
		t.Fatalf("re-encoded frame does not decode: %v", err)
	}
	// NaN floats never compare equal; compare their bits through the frame.
	if !reflect.DeepEqual(reencode(&f), reencode(&g)) {
		t.Fatalf("round trip changed the value: %+v vs %+v", f, g)
	}
}

func seed(f *testing.F, vectors ...string) {
	for _, v := range vectors {
		f.Add(vector(f, v))
	}
	for _, c := range clientFrames() {
		f.Add(c.buf)
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	seed(f, "protocol.hello", "protocol.welcome", "protocol.movement_batch", "protocol.error")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, 0) })
}

func FuzzDecodeHello(f *testing.F) {
	seed(f, "protocol.hello")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, protocol.MessageHello) })
}

func FuzzDecodeMove(f *testing.F) {
	seed(f, "protocol.move")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, protocol.MessageMove) })
}

func FuzzDecodeChatSend(f *testing.F) {
	seed(f, "protocol.chat_send")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, protocol.MessageChatSend) })
}

func FuzzDecodeEmoteSend(f *testing.F) {
	seed(f, "protocol.emote_send")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, protocol.MessageEmoteSend) })
}

func FuzzDecodeStateSet(f *testing.F) {
	seed(f, "protocol.state_set")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, protocol.MessageStateSet) })
}

func FuzzDecodePing(f *testing.F) {
	seed(f, "protocol.ping")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, protocol.MessagePing) })
}

func FuzzDecodeLeave(f *testing.F) {
	seed(f, "protocol.leave")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, protocol.MessageLeave) })
}
