package wire

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

func vector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "schemas", "testdata", name+".bin"))
	if err != nil {
		t.Fatalf("read vector: %v", err)
	}
	return b
}

func sampleTransform() Transform {
	return Transform{Position: [3]float32{1, 2, 3}, Rotation: [4]float32{0, 0, 0, 1}, Velocity: [3]float32{0.5, 0, -0.5}, Animation: 7, Flags: 3}
}

// clientFrames returns one valid frame per client message and the Frame it
// must decode to.
func clientFrames() []struct {
	name string
	buf  []byte
	want Frame
} {
	e := NewEncoder(128)
	tr := sampleTransform()
	ss := StateSet{Key: "door", Value: []byte{1, 2, 3}, CompareAndSet: true, ExpectedVersion: 4, RequestID: 9}
	return []struct {
		name string
		buf  []byte
		want Frame
	}{
		{"hello", e.Hello("tok.en.sig", "go/test", 1), Frame{Type: protocol.MessageHello, Hello: Hello{Ticket: "tok.en.sig", ClientVersion: "go/test", ProtocolVersion: 1}}},
		{"move", e.Move(&tr, 1234567), Frame{Type: protocol.MessageMove, Move: Move{Transform: tr, ClientTimeMs: 1234567}}},
		{"chat", e.ChatSend("hi there", 5), Frame{Type: protocol.MessageChatSend, Chat: ChatSend{Text: "hi there", RequestID: 5}}},
		{"emote", e.EmoteSend("wave", 6), Frame{Type: protocol.MessageEmoteSend, Emote: EmoteSend{Emote: "wave", RequestID: 6}}},
		{"state", e.StateSet(&ss), Frame{Type: protocol.MessageStateSet, State: ss}},
		{"ping", e.Ping(42, 8), Frame{Type: protocol.MessagePing, Ping: Ping{ClientTimeMs: 42, RequestID: 8}}},
		{"leave", e.Leave(), Frame{Type: protocol.MessageLeave}},
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, c := range clientFrames() {
		t.Run(c.name, func(t *testing.T) {
			var f Frame
			if err := Decode(c.buf, &f); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(f, c.want) {
				t.Fatalf("got %+v\nwant %+v", f, c.want)
			}
		})
	}
}

// The committed vectors are compiled by flatc, so they prove the verifier
// accepts the reference encoder's layout, not only our own builder's.
func TestDecodeVectors(t *testing.T) {
	cases := []struct {
		vector string
		typ    protocol.Message
	}{
		{"protocol.hello", protocol.MessageHello},
		{"protocol.move", protocol.MessageMove},
		{"protocol.chat_send", protocol.MessageChatSend},
		{"protocol.emote_send", protocol.MessageEmoteSend},
		{"protocol.state_set", protocol.MessageStateSet},
		{"protocol.ping", protocol.MessagePing},
		{"protocol.leave", protocol.MessageLeave},
	}
	for _, c := range cases {
		t.Run(c.vector, func(t *testing.T) {
			var f Frame
			if err := Decode(vector(t, c.vector), &f); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if f.Type != c.typ {
				t.Fatalf("type %v, want %v", f.Type, c.typ)
			}
		})
	}
	var f Frame
	if err := Decode(vector(t, "protocol.hello"), &f); err != nil || f.Hello.ClientVersion != "unity/1.4.2" {
		t.Fatalf("hello vector: %+v %v", f.Hello, err)
	}
}

func TestDecodeServerOnlyMessages(t *testing.T) {
	for _, name := range []string{"welcome", "member_joined", "member_left", "movement_batch", "chat_message", "emote_played", "state_changed", "pong", "error", "disconnect_notice", "announcement"} {
		t.Run(name, func(t *testing.T) {
			var f Frame
			err := Decode(vector(t, "protocol."+name), &f)
			var de *DecodeError
			if !errors.As(err, &de) || de.Code != common.ErrorCodeNotClientMessage || de.Type == 0 {
				t.Fatalf("got %v, want NotClientMessage with its type", err)
			}
		})
	}
}

func code(err error) common.ErrorCode {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Code
	}
	return 0xffff
}

func TestDecodeBadInput(t *testing.T) {
	e := NewEncoder(64)
	hello := e.Hello("abc", "v", 1)
	unknown := e.Raw(protocol.Message(99), func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		protocol.PingStart(b)
		return protocol.PingEnd(b)
	})
	empty := func() []byte {
		b := flatbuffers.NewBuilder(16)
		protocol.EnvelopeStart(b)
		protocol.FinishEnvelopeBuffer(b, protocol.EnvelopeEnd(b))
		return b.FinishedBytes()
	}()
	noBody := func() []byte {
		b := flatbuffers.NewBuilder(16)
		protocol.EnvelopeStart(b)
		protocol.EnvelopeAddMessageType(b, protocol.MessagePing)
		protocol.FinishEnvelopeBuffer(b, protocol.EnvelopeEnd(b))
		return b.FinishedBytes()
	}()
	// A hello whose ticket string claims more bytes than the frame holds.
	longString := append([]byte(nil), hello...)
	for i := 0; i+4 <= len(longString); i++ {
		if string(longString[i+4:i+7]) == "abc" {
			longString[i] = 0xff
			longString[i+1] = 0xff
			break
		}
	}
	noNul := append([]byte(nil), hello...)
	for i := 0; i+3 <= len(noNul); i++ {
		if string(noNul[i:i+3]) == "abc" {
			noNul[i+3] = 'x'
			break
		}
	}
	badRoot := append([]byte(nil), hello...)
	badRoot[0], badRoot[1], badRoot[2], badRoot[3] = 0xf0, 0xff, 0xff, 0x7f
	cases := []struct {
		name string
		buf  []byte
		want common.ErrorCode
	}{
		{"empty", nil, common.ErrorCodeMalformedFrame},
		{"short", []byte{1, 2, 3}, common.ErrorCodeMalformedFrame},
		{"root out of bounds", badRoot, common.ErrorCodeMalformedFrame},
		{"truncated", hello[:len(hello)-6], common.ErrorCodeMalformedFrame},
		{"string length overrun", longString, common.ErrorCodeMalformedFrame},
		{"string without NUL", noNul, common.ErrorCodeMalformedFrame},
		{"no message", empty, common.ErrorCodeMalformedFrame},
		{"type without body", noBody, common.ErrorCodeMalformedFrame},
		{"unknown union type", unknown, common.ErrorCodeUnknownMessage},
		{"text garbage", []byte("GET / HTTP/1.1\r\n\r\n"), common.ErrorCodeMalformedFrame},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f Frame
			if got := code(Decode(c.buf, &f)); got != c.want {
				t.Fatalf("code %v, want %v", got, c.want)
			}
		})
	}
}

// Every prefix and every single-byte corruption of every valid client frame
// must either decode or fail with a DecodeError; none may panic.
func TestDecodeTruncationsAndBitFlips(t *testing.T) {
	for _, c := range clientFrames() {
		for n := 0; n < len(c.buf); n++ {
			var f Frame
			if err := Decode(c.buf[:n], &f); err == nil && n < 8 {
				t.Fatalf("%s: %d-byte prefix decoded", c.name, n)
			}
		}
		for i := range c.buf {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				b := append([]byte(nil), c.buf...)
				b[i] ^= x
				var f Frame
				err := Decode(b, &f)
				if err != nil {
					var de *DecodeError
					if !errors.As(err, &de) {
						t.Fatalf("%s: non-DecodeError %T", c.name, err)
					}
				}
			}
		}
	}
}

func TestEncodeServerMessagesReadBack(t *testing.T) {
	e := NewEncoder(64)
	tr := sampleTransform()
	w := e.Welcome(&Welcome{
		SessionID: "s1", MemberID: 3, ServerTimeMs: 99, TickRateHz: 20, InterestRadius: 30,
		Limits: SessionLimits{MaxFrameBytes: 4096, MaxChatBytes: 200, MaxStateKeys: 8},
		Snapshot: Snapshot{RoomID: "r", WorldID: "w", Sequence: 12,
			Members: []MemberInfo{{MemberID: 1, UserID: "u1", DisplayName: "Ann", Transform: tr, JoinedAtMs: 5}},
			State:   []StateEntry{{Key: "k", Value: []byte("v"), Version: 2, UpdatedBy: 1}}},
	})
	env := protocol.GetRootAsEnvelope(w, 0).UnPack()
	wt := env.Message.Value.(*protocol.WelcomeT)
	if wt.SessionId != "s1" || wt.MemberId != 3 || wt.Snapshot.Sequence != 12 || len(wt.Snapshot.Members) != 1 ||
		wt.Snapshot.Members[0].Transform.Position.Y != 2 || string(wt.Snapshot.State[0].Value) != "v" || wt.Limits.MaxStateKeys != 8 || wt.InterestRadius != 30 {
		t.Fatalf("welcome read back wrong: %+v", wt)
	}
	mb := e.MovementBatch(7, 100, []Avatar{{MemberID: 1, ClientTimeMsLow: 77, Transform: tr}, {MemberID: 2, Transform: tr}})
	bt := protocol.GetRootAsEnvelope(mb, 0).UnPack().Message.Value.(*protocol.MovementBatchT)
	if bt.Tick != 7 || len(bt.Avatars) != 2 || bt.Avatars[0].ClientTimeMsLow != 77 || bt.Avatars[1].MemberId != 2 || bt.Avatars[0].Transform.Animation != 7 {
		t.Fatalf("batch read back wrong: %+v", bt)
	}
	er := protocol.GetRootAsEnvelope(e.Error(common.ErrorCodeMuted, "muted", 4, protocol.MessageChatSend), 0).UnPack().Message.Value.(*protocol.ErrorT)
	if er.Code != common.ErrorCodeMuted || er.RequestId != 4 || er.RequestType != byte(protocol.MessageChatSend) {
		t.Fatalf("error read back wrong: %+v", er)
	}
	dn := protocol.GetRootAsEnvelope(e.DisconnectNotice("drain", common.CloseCodeDraining, true, 1500, "r1"), 0).UnPack().Message.Value.(*protocol.DisconnectNoticeT)
	if !dn.Resume.Rejoin || dn.Resume.RetryAfterMs != 1500 || dn.Resume.RoomId != "r1" || dn.CloseCode != common.CloseCodeDraining {
		t.Fatalf("notice read back wrong: %+v", dn)
	}
	if !protocol.EnvelopeBufferHasIdentifier(mb) {
		t.Fatal("relay frames carry the PLZP file identifier")
	}
}

func TestMovementBatchMatchesGeneratedLayout(t *testing.T) {
	e := NewEncoder(64)
	for _, n := range []int{0, 1, 2, 7, 50} {
		avatars := make([]Avatar, n)
		for i := range avatars {
			tr := sampleTransform()
			tr.Position[0] = float32(i) * 1.5
			tr.Flags = uint16(i)
			avatars[i] = Avatar{MemberID: uint32(i + 1), ClientTimeMsLow: uint32(1000 + i), Transform: tr}
		}
		fast := e.MovementBatch(uint64(n), 1700000000123, avatars)
		ref := e.movementBatchReference(uint64(n), 1700000000123, avatars)
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("n=%d: fast encoding differs from CreateAvatarTransform layout", n)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range clientFrames() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.buf)))
			var f Frame
			for i := 0; i < b.N; i++ {
				if err := Decode(c.buf, &f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// movementBatchReference is the generated-code way to build the same frame;
// a test checks MovementBatch produces identical bytes.
func (e *Encoder) movementBatchReference(tick uint64, serverTimeMs int64, avatars []Avatar) []byte {
	b := e.b
	protocol.MovementBatchStartAvatarsVector(b, len(avatars))
	for i := len(avatars) - 1; i >= 0; i-- {
		a := &avatars[i]
		t := &a.Transform
		protocol.CreateAvatarTransform(b, a.MemberID, a.ClientTimeMsLow,
			t.Position[0], t.Position[1], t.Position[2],
			t.Rotation[0], t.Rotation[1], t.Rotation[2], t.Rotation[3],
			t.Velocity[0], t.Velocity[1], t.Velocity[2],
			t.Animation, t.Flags)
	}
	vec := b.EndVector(len(avatars))
	protocol.MovementBatchStart(b)
	protocol.MovementBatchAddTick(b, tick)
	protocol.MovementBatchAddServerTimeMs(b, serverTimeMs)
	protocol.MovementBatchAddAvatars(b, vec)
	return e.finish(protocol.MessageMovementBatch, protocol.MovementBatchEnd(b))
}
