// Package centrifugoadapter lets the load generator drive Centrifugo, the
// benchmark peer, with the same simulated players it drives Plaza with.
//
// It speaks the minimal part of Centrifugo's Protobuf client protocol over
// WebSocket (github.com/centrifugal/protocol definitions/client.proto):
// every WebSocket frame carries one or more varint-length-prefixed Command
// (client -> server) or Reply (server -> client) messages. A member sends
// connect (with an HS256 connection JWT) and subscribe to its room's
// channel, then publishes its movement and chat into the channel; every
// subscriber (including the publisher) receives each publication as a Push.
// Server pings are empty Replies; the client answers with an empty Command.
//
// The Protobuf protocol (rather than JSON) is the fair choice: payloads are
// binary like Plaza's FlatBuffers, and neither side pays for JSON.
package centrifugoadapter

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/plaza-dev/plaza/relay-go/bench/loadgen"
)

// Register makes the "centrifugo" target available to the load generator.
func Register() {
	loadgen.RegisterTarget("centrifugo", func(p *loadgen.Plan) (loadgen.Target, error) {
		if p.CentrifugoSecret == "" {
			return nil, errors.New("centrifugo target: HMAC secret is required")
		}
		return &Target{URL: p.URL, Secret: []byte(p.CentrifugoSecret), ChannelPrefix: p.RoomPrefix}, nil
	})
}

// Target joins members to Centrifugo channels.
type Target struct {
	URL           string // e.g. ws://127.0.0.1:18300/connection/websocket
	Secret        []byte // client.token.hmac_secret_key
	ChannelPrefix string // channel = prefix + room index; zero value "bench-r"
	Timeout       time.Duration
}

// Payload kinds inside a publication: kind byte, sender index (uint32 LE),
// then for moves the sender clock (int64 LE Unix ms) and the 44-byte
// transform, for chat the chat text.
const (
	kindMove = 'M'
	kindChat = 'C'
)

// Join implements loadgen.Target.
func (t *Target) Join(ctx context.Context, m *loadgen.Member, local net.IP, sink loadgen.Sink) (loadgen.Session, loadgen.JoinTiming, error) {
	var tm loadgen.JoinTiming
	start := time.Now()
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, tm, err
	}
	q := u.Query()
	q.Set("cf_protocol", "protobuf")
	u.RawQuery = q.Encode()
	s := &session{sink: sink, self: uint32(m.Index), replies: make(chan reply, 2)}
	prefix := t.ChannelPrefix
	if prefix == "" {
		prefix = "bench-r"
	}
	s.channel = fmt.Sprintf("%s%03d", prefix, m.Room)
	conn, _, err := gws.NewClient(s, &gws.ClientOption{
		Addr:             u.String(),
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		NewDialer: func() (gws.Dialer, error) {
			return &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: local}}, nil
		},
	})
	if err != nil {
		kind := "handshake"
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			kind = "dial"
		}
		return nil, tm, &loadgen.JoinError{Kind: kind, Err: err}
	}
	tm.Connect = time.Since(start)
	s.conn = conn
	go conn.ReadLoop()
	fail := func(kind string, err error) (loadgen.Session, loadgen.JoinTiming, error) {
		s.closing.Store(true)
		_ = conn.NetConn().Close()
		return nil, tm, &loadgen.JoinError{Kind: kind, Err: err}
	}
	token, err := t.token(m.User)
	if err != nil {
		return fail("token", err)
	}
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	// connect (id 1), then subscribe (id 2).
	if err := s.write(connectCommand(1, token)); err != nil {
		return fail("write_connect", err)
	}
	if r, err := s.await(ctx, 1, timeout); err != nil {
		return fail("connect_"+r, err)
	}
	if err := s.write(subscribeCommand(2, s.channel)); err != nil {
		return fail("write_subscribe", err)
	}
	if r, err := s.await(ctx, 2, timeout); err != nil {
		return fail("subscribe_"+r, err)
	}
	s.joined.Store(true)
	s.nextID.Store(2)
	tm.Join = time.Since(start)
	return s, tm, nil
}

// token is an HS256 connection JWT for user, valid for an hour.
func (t *Target) token(user string) (string, error) {
	enc := base64.RawURLEncoding
	hdr := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, err := json.Marshal(map[string]any{"sub": user, "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		return "", err
	}
	signing := hdr + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, t.Secret)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

type reply struct {
	id   uint32
	code uint32 // error code, 0 = ok
	msg  string
}

type session struct {
	gws.BuiltinEventHandler
	conn    *gws.Conn
	sink    loadgen.Sink
	self    uint32
	channel string
	replies chan reply // replies to connect/subscribe while joining
	joined  atomic.Bool
	closing atomic.Bool
	nextID  atomic.Uint32
}

func (s *session) write(frame []byte) error {
	if s.conn == nil { // only in tests: a session without a socket
		return errors.New("no connection")
	}
	return s.conn.WriteMessage(gws.OpcodeBinary, frame)
}

// await waits for the reply with id; on failure the string is a kind.
func (s *session) await(ctx context.Context, id uint32, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case r, ok := <-s.replies:
			if !ok {
				return "closed", errors.New("connection closed while joining")
			}
			if r.id != id {
				continue
			}
			if r.code != 0 {
				return fmt.Sprintf("error_%d", r.code), fmt.Errorf("centrifugo error %d: %s", r.code, r.msg)
			}
			return "", nil
		case <-t.C:
			return "timeout", fmt.Errorf("no reply %d within %s", id, timeout)
		case <-ctx.Done():
			return "canceled", ctx.Err()
		}
	}
}

func (s *session) Move(p *loadgen.Pose, nowMs int64) error {
	data := make([]byte, 0, 1+4+8+44)
	data = append(data, kindMove)
	data = binary.LittleEndian.AppendUint32(data, s.self)
	data = binary.LittleEndian.AppendUint64(data, uint64(nowMs))
	for _, f := range p.Position {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
	}
	for _, f := range p.Rotation {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
	}
	for _, f := range p.Velocity {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
	}
	data = append(data, 0, 0, 0, 0) // animation, flags
	return s.write(publishCommand(s.nextID.Add(1), s.channel, data))
}

func (s *session) Chat(text string, _ uint32) error {
	data := make([]byte, 0, 5+len(text))
	data = append(data, kindChat)
	data = binary.LittleEndian.AppendUint32(data, s.self)
	data = append(data, text...)
	return s.write(publishCommand(s.nextID.Add(1), s.channel, data))
}

func (s *session) Close() error {
	s.closing.Store(true)
	return s.conn.WriteClose(1000, nil)
}

func (s *session) OnClose(_ *gws.Conn, err error) {
	kind := loadgen.CloseKind(err)
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		kind = fmt.Sprintf("close_%d", ce.Code)
	}
	if !s.joined.Load() {
		close(s.replies)
		return
	}
	if !s.closing.Load() {
		s.sink.Closed(kind)
	}
}

func (s *session) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	b := msg.Bytes()
	now := time.Now().UnixMicro()
	for len(b) > 0 {
		l, n := protowire.ConsumeVarint(b)
		if n < 0 || uint64(len(b)-n) < l {
			s.sink.Event("client_bad_frame")
			return
		}
		r := b[n : n+int(l)]
		b = b[n+int(l):]
		s.reply(now, r)
	}
}

// reply handles one encoded Reply.
func (s *session) reply(now int64, b []byte) {
	if len(b) == 0 { // ping: answer with an empty command (pong)
		_ = s.write([]byte{0})
		return
	}
	var rp reply
	var push []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			s.sink.Event("client_bad_reply")
			return
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return
			}
			rp.id, b = uint32(v), b[m:]
		case num == 2 && typ == protowire.BytesType: // Error
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			rp.code, rp.msg = parseError(v)
			b = b[m:]
		case num == 4 && typ == protowire.BytesType: // Push
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			push, b = v, b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return
			}
			b = b[m:]
		}
	}
	if push != nil {
		s.push(now, push)
		return
	}
	if rp.id != 0 && !s.joined.Load() {
		select {
		case s.replies <- rp:
		default:
		}
		return
	}
	if rp.code != 0 {
		s.sink.Event(fmt.Sprintf("error_%d", rp.code))
	}
}

// push handles one Push; only publications (field 4) carry our traffic.
func (s *session) push(now int64, b []byte) {
	pub := field(b, 4)
	if pub == nil {
		if field(b, 11) != nil {
			s.sink.Event("push_disconnect")
		}
		return
	}
	data := field(pub, 4)
	if len(data) < 5 {
		s.sink.Event("client_bad_publication")
		return
	}
	sender := binary.LittleEndian.Uint32(data[1:5])
	switch data[0] {
	case kindMove:
		if sender == s.self || len(data) < 13 {
			return
		}
		sentMs := binary.LittleEndian.Uint64(data[5:13])
		s.sink.Movement(now, sender, uint32(sentMs))
	case kindChat:
		s.sink.Chat(now, data[5:], 0)
	}
}

// field returns the bytes of the first length-delimited field num in b.
func field(b []byte, num protowire.Number) []byte {
	for len(b) > 0 {
		n, typ, m := protowire.ConsumeTag(b)
		if m < 0 {
			return nil
		}
		b = b[m:]
		if n == num && typ == protowire.BytesType {
			v, k := protowire.ConsumeBytes(b)
			if k < 0 {
				return nil
			}
			return v
		}
		k := protowire.ConsumeFieldValue(n, typ, b)
		if k < 0 {
			return nil
		}
		b = b[k:]
	}
	return nil
}

func parseError(b []byte) (uint32, string) {
	var code uint32
	var msg string
	for len(b) > 0 {
		n, typ, m := protowire.ConsumeTag(b)
		if m < 0 {
			break
		}
		b = b[m:]
		switch {
		case n == 1 && typ == protowire.VarintType:
			v, k := protowire.ConsumeVarint(b)
			if k < 0 {
				return code, msg
			}
			code, b = uint32(v), b[k:]
		case n == 2 && typ == protowire.BytesType:
			v, k := protowire.ConsumeBytes(b)
			if k < 0 {
				return code, msg
			}
			msg, b = string(v), b[k:]
		default:
			k := protowire.ConsumeFieldValue(n, typ, b)
			if k < 0 {
				return code, msg
			}
			b = b[k:]
		}
	}
	if code == 0 && msg != "" {
		code = math.MaxUint32
	}
	return code, msg
}

// frame prefixes one encoded Command with its varint length.
func frame(cmd []byte) []byte {
	out := protowire.AppendVarint(make([]byte, 0, len(cmd)+3), uint64(len(cmd)))
	return append(out, cmd...)
}

func command(id uint32, field protowire.Number, body []byte) []byte {
	var c []byte
	c = protowire.AppendTag(c, 1, protowire.VarintType)
	c = protowire.AppendVarint(c, uint64(id))
	c = protowire.AppendTag(c, field, protowire.BytesType)
	c = protowire.AppendBytes(c, body)
	return frame(c)
}

func connectCommand(id uint32, token string) []byte {
	var r []byte
	r = protowire.AppendTag(r, 1, protowire.BytesType) // token
	r = protowire.AppendString(r, token)
	r = protowire.AppendTag(r, 4, protowire.BytesType) // name
	r = protowire.AppendString(r, "plaza-loadgen")
	return command(id, 4, r)
}

func subscribeCommand(id uint32, channel string) []byte {
	var r []byte
	r = protowire.AppendTag(r, 1, protowire.BytesType)
	r = protowire.AppendString(r, channel)
	return command(id, 5, r)
}

func publishCommand(id uint32, channel string, data []byte) []byte {
	r := make([]byte, 0, len(channel)+len(data)+6)
	r = protowire.AppendTag(r, 1, protowire.BytesType)
	r = protowire.AppendString(r, channel)
	r = protowire.AppendTag(r, 2, protowire.BytesType)
	r = protowire.AppendBytes(r, data)
	return command(id, 7, r)
}
