package centrifugoadapter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/plaza-dev/plaza/relay-go/bench/loadgen"
)

type sink struct {
	moves  []uint32
	chats  []string
	events []string
}

func (s *sink) Batch(int64, int64)                     {}
func (s *sink) Movement(_ int64, _ uint32, low uint32) { s.moves = append(s.moves, low) }
func (s *sink) Chat(_ int64, text []byte, _ uint64)    { s.chats = append(s.chats, string(text)) }
func (s *sink) Event(kind string)                      { s.events = append(s.events, kind) }
func (s *sink) Closed(kind string)                     { s.events = append(s.events, "closed_"+kind) }

// pushReply encodes Reply{push: Push{channel, pub: Publication{data}}}.
func pushReply(channel string, data []byte) []byte {
	var pub []byte
	pub = protowire.AppendTag(pub, 4, protowire.BytesType)
	pub = protowire.AppendBytes(pub, data)
	var push []byte
	push = protowire.AppendTag(push, 2, protowire.BytesType)
	push = protowire.AppendString(push, channel)
	push = protowire.AppendTag(push, 4, protowire.BytesType)
	push = protowire.AppendBytes(push, pub)
	var r []byte
	r = protowire.AppendTag(r, 4, protowire.BytesType)
	r = protowire.AppendBytes(r, push)
	return r
}

func TestPushesReachTheSink(t *testing.T) {
	sk := &sink{}
	s := &session{sink: sk, self: 7, replies: make(chan reply, 2)}
	s.joined.Store(true)
	move := func(sender uint32, ms uint64) []byte {
		d := []byte{kindMove}
		d = binary.LittleEndian.AppendUint32(d, sender)
		d = binary.LittleEndian.AppendUint64(d, ms)
		return append(d, make([]byte, 44)...)
	}
	chat := append(binary.LittleEndian.AppendUint32([]byte{kindChat}, 3), "lg|3|1|5|x"...)
	// Three replies in one frame, each varint-length-prefixed.
	var frame []byte
	for _, r := range [][]byte{pushReply("bench-r000", move(3, 1<<32+42)), pushReply("bench-r000", move(7, 1)), pushReply("bench-r000", chat)} {
		frame = protowire.AppendVarint(frame, uint64(len(r)))
		frame = append(frame, r...)
	}
	for len(frame) > 0 {
		l, n := protowire.ConsumeVarint(frame)
		s.reply(0, frame[n:n+int(l)])
		frame = frame[n+int(l):]
	}
	if len(sk.moves) != 1 || sk.moves[0] != 42 {
		t.Fatalf("moves %v (own move must be skipped, clock truncated to 32 bits)", sk.moves)
	}
	if len(sk.chats) != 1 || sk.chats[0] != "lg|3|1|5|x" {
		t.Fatalf("chats %q", sk.chats)
	}
}

func TestErrorReplyWhileJoining(t *testing.T) {
	s := &session{sink: &sink{}, replies: make(chan reply, 2)}
	var e []byte
	e = protowire.AppendTag(e, 1, protowire.VarintType)
	e = protowire.AppendVarint(e, 103)
	e = protowire.AppendTag(e, 2, protowire.BytesType)
	e = protowire.AppendString(e, "permission denied")
	var r []byte
	r = protowire.AppendTag(r, 1, protowire.VarintType)
	r = protowire.AppendVarint(r, 2)
	r = protowire.AppendTag(r, 2, protowire.BytesType)
	r = protowire.AppendBytes(r, e)
	s.reply(0, r)
	got := <-s.replies
	if got.id != 2 || got.code != 103 || got.msg != "permission denied" {
		t.Fatalf("reply %+v", got)
	}
}

func TestConnectionTokenIsHS256(t *testing.T) {
	tg := &Target{Secret: []byte("s3cret")}
	tok, err := tg.token("u1")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		t.Fatal("bad signature")
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !strings.Contains(string(body), `"sub":"u1"`) {
		t.Fatalf("claims %s", body)
	}
}

// FuzzReply: whatever the server sends, parsing never panics.
func FuzzReply(f *testing.F) {
	f.Add(pushReply("c", []byte{kindMove, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(pushReply("c", []byte{kindChat, 1, 0, 0, 0, 'h'}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &session{sink: &sink{}, replies: make(chan reply, 1)}
		s.joined.Store(true)
		s.reply(0, b)
	})
}

var _ loadgen.Sink = (*sink)(nil)
