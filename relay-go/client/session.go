package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/lxzan/gws"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// WebSocket client library: github.com/lxzan/gws. A load generator holds
// up to 20,000 connections per process, so the client must be cheap per
// connection: gws keeps one goroutine per connection (its ReadLoop), reads
// into a small reusable buffer, hands frames to callbacks without a copy,
// and its writes are a mutex plus one syscall. coder/websocket needs extra
// goroutines and context plumbing per connection and allocates a reader per
// message, which costs more CPU on the loadgen side of a 2-core machine and
// would show up as noise in the server's numbers.

// DefaultClientVersion is what Dial reports in Hello when
// DialOptions.ClientVersion is empty.
const DefaultClientVersion = "plaza-loadgen/1"

// DialOptions tune Dial. The zero value dials from any local address,
// discards every event and waits 10 s for the Welcome.
type DialOptions struct {
	// Local is the source address of the TCP connection; nil lets the
	// kernel choose.
	Local net.IP
	// Handler receives what the session delivers; nil: NopHandler.
	Handler Handler
	// WelcomeTimeout bounds the wait for Welcome after Hello; zero: 10 s.
	WelcomeTimeout time.Duration
	// ClientVersion is sent in Hello; empty: DefaultClientVersion.
	ClientVersion string
}

// Session is one member's connection to a relay, from Welcome until Close
// or until the relay ends it (Handler.Closed). Move, Chat, Emote, SetState
// and Ping may be called from any goroutine, concurrently; each returns
// once its frame is written to the socket (they block on the socket, never
// on the relay's answer). Answers and room traffic arrive on the Handler.
type Session struct {
	gws.BuiltinEventHandler
	conn     *gws.Conn
	sink     Handler
	room     RoomHandler   // sink as a RoomHandler, or nil
	notice   NoticeHandler // sink as a NoticeHandler, or nil
	welcome  chan error    // receives exactly once: nil on Welcome, else why not
	welcomed atomic.Bool
	closing  atomic.Bool
	connect  time.Duration
	memberID uint32
	tickHz   uint16
	members  []Member          // Welcome snapshot; read-only after Dial returns
	id       string            // Welcome's session_id; read-only after Dial returns
	roomID   string            // Welcome snapshot's room_id; read-only after Dial returns
	url      string            // the relay URL dialled
	seq      uint64            // last room sequence seen (Welcome snapshot, then every reliable event); read goroutine only
	wseq     uint64            // Welcome snapshot's sequence; read-only after Dial returns
	state    map[string][]byte // Welcome snapshot's room state; read-only after Dial returns
}

// Dial opens a WebSocket to the relay at url (ws:// or wss://, as the
// control plane's join answer gives it), sends Hello with ticket and
// returns once the relay's Welcome arrived: the member is in the room.
// It blocks for at most the WebSocket handshake (10 s) plus
// WelcomeTimeout, and less when ctx ends. A refused Hello (the relay closes
// with a 40xx code) is a *JoinError of kind "close_40xx_<name>".
func Dial(ctx context.Context, url, ticket string, opt DialOptions) (*Session, error) {
	start := time.Now()
	h := opt.Handler
	if h == nil {
		h = NopHandler{}
	}
	s := &Session{sink: h, welcome: make(chan error, 1), url: url}
	s.room, _ = h.(RoomHandler)
	s.notice, _ = h.(NoticeHandler)
	conn, _, err := gws.NewClient(s, &gws.ClientOption{
		Addr:             url,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		NewDialer: func() (gws.Dialer, error) {
			return &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: opt.Local}}, nil
		},
	})
	if err != nil {
		kind := "handshake"
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			kind = "dial"
		}
		return nil, &JoinError{Kind: kind, Err: err}
	}
	s.connect = time.Since(start)
	s.conn = conn
	go conn.ReadLoop()
	cv := opt.ClientVersion
	if cv == "" {
		cv = DefaultClientVersion
	}
	enc := wire.GetEncoder()
	hello := enc.Hello(ticket, cv, uint16(common.ProtocolVersionV1))
	wire.PutEncoder(enc)
	if err := conn.WriteMessage(gws.OpcodeBinary, hello); err != nil {
		_ = conn.NetConn().Close()
		return nil, &JoinError{Kind: "write_hello", Err: err}
	}
	wt := opt.WelcomeTimeout
	if wt == 0 {
		wt = 10 * time.Second
	}
	timer := time.NewTimer(wt)
	defer timer.Stop()
	select {
	case err := <-s.welcome:
		if err != nil {
			s.closing.Store(true)
			_ = conn.NetConn().Close()
			return nil, err
		}
	case <-timer.C:
		s.closing.Store(true)
		_ = conn.NetConn().Close()
		return nil, &JoinError{Kind: "welcome_timeout", Err: fmt.Errorf("no Welcome within %s", wt)}
	case <-ctx.Done():
		s.closing.Store(true)
		_ = conn.NetConn().Close()
		return nil, &JoinError{Kind: "canceled", Err: ctx.Err()}
	}
	return s, nil
}

// SessionID is the relay's id of this session (Welcome's session_id): the
// resume_session_id of the next join after a drain or failure.
func (s *Session) SessionID() string { return s.id }

// RoomID is the room the session is in (the Welcome snapshot's room_id).
func (s *Session) RoomID() string { return s.roomID }

// WelcomeSequence is the room sequence of the Welcome snapshot: the last
// reliable event the room had when this member arrived. A rejoin after a
// relay failure must not see it below what the member saw before.
func (s *Session) WelcomeSequence() uint64 { return s.wseq }

// WelcomeState is the room state of the Welcome snapshot, key to value.
// The map is shared: do not modify it.
func (s *Session) WelcomeState() map[string][]byte { return s.state }

// RelayURL is the relay URL the session was dialled at.
func (s *Session) RelayURL() string { return s.url }

// ConnectTime is how long the TCP connect and WebSocket upgrade took.
func (s *Session) ConnectTime() time.Duration { return s.connect }

// MemberID is the member id the relay gave this session (Welcome).
func (s *Session) MemberID() uint32 { return s.memberID }

// TickRateHz is the room's tick rate from the Welcome.
func (s *Session) TickRateHz() uint16 { return s.tickHz }

// Members is the room's member list from the Welcome snapshot (this
// session's member included). The slice is shared: do not modify it.
func (s *Session) Members() []Member { return s.members }

// Move sends the member's pose, stamped with the sender clock nowMs (Unix
// ms; receivers see its low 32 bits in Handler.Movement).
func (s *Session) Move(p *Pose, nowMs int64) error {
	enc := wire.GetEncoder()
	f := enc.Move(&wire.Transform{Position: p.Position, Rotation: p.Rotation, Velocity: p.Velocity}, nowMs)
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

// Chat sends one reliable chat line; requestID comes back in a typed error
// frame if the relay refuses it (Handler.Event "error_<code>").
func (s *Session) Chat(text string, requestID uint32) error {
	enc := wire.GetEncoder()
	f := enc.ChatSend(text, requestID)
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

// Emote plays an emote in the room (reliable, sequenced like chat).
func (s *Session) Emote(emote string, requestID uint32) error {
	enc := wire.GetEncoder()
	f := enc.EmoteSend(emote, requestID)
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

// StateSet is one room state change request (docs/protocol.md, "Room
// state"): set Key to Value, or delete it; with CompareAndSet only when the
// entry's version is still ExpectedVersion.
type StateSet = wire.StateSet

// SetState asks the relay to change one room state entry; every member
// (this one included) sees the result as RoomHandler.StateChanged.
func (s *Session) SetState(st *StateSet) error {
	enc := wire.GetEncoder()
	f := enc.StateSet(st)
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

// Ping sends a keep-alive stamped with nowMs. The relay closes sessions
// that send nothing for a while (docs/protocol.md): a client that neither
// moves nor chats must Ping at least every KeepAlive.
func (s *Session) Ping(nowMs int64) error {
	enc := wire.GetEncoder()
	f := enc.Ping(nowMs, 0)
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

// KeepAlive is how long a session may stay silent before it must Ping.
const KeepAlive = 10 * time.Second

// Leave leaves the room: the relay removes the member at once (the others
// see MemberLeft with reason Left) and closes the connection with 1000;
// the Handler sees no Closed for it. It returns once the Leave is written.
// Close has the same outcome for the others; Leave also says it in the
// protocol, before anything queued behind the close.
func (s *Session) Leave() error {
	s.closing.Store(true)
	enc := wire.GetEncoder()
	f := enc.Leave()
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

// Close ends the session with a normal close (1000): the others see
// MemberLeft with reason Left. The Handler sees no Closed for it. It does
// not wait for the relay's answer.
func (s *Session) Close() error {
	s.closing.Store(true)
	return s.conn.WriteClose(1000, nil)
}

// OnClose implements gws.Event; it is not for callers.
func (s *Session) OnClose(_ *gws.Conn, err error) {
	kind := CloseKind(err)
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		kind = fmt.Sprintf("close_%d", ce.Code)
		if name, ok := common.EnumNamesCloseCode[common.CloseCode(ce.Code)]; ok {
			kind += "_" + name
		}
	}
	if !s.welcomed.Load() {
		select {
		case s.welcome <- &JoinError{Kind: kind, Err: err}:
		default:
		}
		return
	}
	if !s.closing.Load() {
		s.sink.Closed(kind)
	}
}

// OnMessage implements gws.Event; it is not for callers.
func (s *Session) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	s.handle(msg.Bytes())
}

// sequenced checks the room sequence of a reliable event: it must be exactly
// one more than the last (docs/protocol.md, "Sequence numbers").
func (s *Session) sequenced(seq uint64) {
	switch {
	case seq == s.seq+1:
	case seq <= s.seq:
		s.sink.Event("relay_seq_duplicate")
	default:
		s.sink.Event("relay_seq_gap")
	}
	if seq > s.seq {
		s.seq = seq
	}
}

func member(m *protocol.Member) Member {
	return Member{ID: m.MemberId(), UserID: string(m.UserId()), DisplayName: string(m.DisplayName()), JoinedAtMs: m.JoinedAtMs()}
}

// handle decodes one relay frame and reports what it carries to the sink.
func (s *Session) handle(b []byte) {
	defer func() {
		// The relay is trusted but under test: a frame the generated
		// accessors cannot read costs one count, never the process.
		if r := recover(); r != nil {
			s.sink.Event("client_decode_panic")
		}
	}()
	if len(b) < 8 || !protocol.EnvelopeBufferHasIdentifier(b) {
		s.sink.Event("client_bad_frame")
		return
	}
	env := protocol.GetRootAsEnvelope(b, 0)
	var tab flatbuffers.Table
	if !env.Message(&tab) {
		s.sink.Event("client_empty_envelope")
		return
	}
	switch env.MessageType() {
	case protocol.MessageMovementBatch:
		var mb protocol.MovementBatch
		mb.Init(tab.Bytes, tab.Pos)
		now := time.Now().UnixMicro()
		s.sink.Batch(now, mb.ServerTimeMs())
		var at protocol.AvatarTransform
		for i, n := 0, mb.AvatarsLength(); i < n; i++ {
			mb.Avatars(&at, i)
			if at.MemberId() == s.memberID {
				continue
			}
			s.sink.Movement(now, at.MemberId(), at.ClientTimeMsLow())
		}
	case protocol.MessageChatMessage:
		var cm protocol.ChatMessage
		cm.Init(tab.Bytes, tab.Pos)
		s.sequenced(cm.Sequence())
		s.sink.Chat(time.Now().UnixMicro(), cm.Text(), cm.Sequence())
	case protocol.MessageMemberJoined:
		var mj protocol.MemberJoined
		mj.Init(tab.Bytes, tab.Pos)
		s.sequenced(mj.Sequence())
		if s.room != nil {
			var m protocol.Member
			if mj.Member(&m) != nil {
				s.room.MemberJoined(member(&m), mj.Sequence())
			}
		}
	case protocol.MessageMemberLeft:
		var ml protocol.MemberLeft
		ml.Init(tab.Bytes, tab.Pos)
		s.sequenced(ml.Sequence())
		if s.room != nil {
			s.room.MemberLeft(ml.MemberId(), string(ml.UserId()), ml.Sequence())
		}
	case protocol.MessageEmotePlayed:
		var ep protocol.EmotePlayed
		ep.Init(tab.Bytes, tab.Pos)
		s.sequenced(ep.Sequence())
		if s.room != nil {
			s.room.Emote(ep.MemberId(), string(ep.Emote()), ep.Sequence())
		}
	case protocol.MessageStateChanged:
		var sc protocol.StateChanged
		sc.Init(tab.Bytes, tab.Pos)
		s.sequenced(sc.Sequence())
		if s.room != nil {
			var e protocol.StateEntry
			if sc.Entry(&e) != nil {
				s.room.StateChanged(string(e.Key()), e.ValueBytes(), e.Version(), sc.Deleted(), sc.Sequence())
			}
		}
	case protocol.MessageAnnouncement:
		var an protocol.Announcement
		an.Init(tab.Bytes, tab.Pos)
		s.sequenced(an.Sequence())
		if s.room != nil {
			s.room.Announcement(string(an.Text()), an.Sequence())
		}
	case protocol.MessageWelcome:
		var w protocol.Welcome
		w.Init(tab.Bytes, tab.Pos)
		s.memberID = w.MemberId()
		first := !s.welcomed.Load() // what Dial's caller reads is set once, before it returns
		if first {
			s.tickHz = w.TickRateHz()
			s.id = string(w.SessionId())
		}
		var snap protocol.RoomSnapshot
		if w.Snapshot(&snap) != nil {
			s.seq = snap.Sequence()
			if first {
				s.roomID = string(snap.RoomId())
				s.wseq = snap.Sequence()
				s.state = make(map[string][]byte, snap.StateLength())
				var e protocol.StateEntry
				for i, n := 0, snap.StateLength(); i < n; i++ {
					if snap.State(&e, i) {
						s.state[string(e.Key())] = append([]byte(nil), e.ValueBytes()...)
					}
				}
				var m protocol.Member
				for i, n := 0, snap.MembersLength(); i < n; i++ {
					if snap.Members(&m, i) {
						s.members = append(s.members, member(&m))
					}
				}
			}
		}
		if !s.welcomed.Swap(true) {
			select {
			case s.welcome <- nil:
			default:
			}
		}
	case protocol.MessageError:
		var e protocol.Error
		e.Init(tab.Bytes, tab.Pos)
		s.sink.Event("error_" + e.Code().String())
	case protocol.MessageDisconnectNotice:
		var d protocol.DisconnectNotice
		d.Init(tab.Bytes, tab.Pos)
		s.sink.Event("disconnect_notice_" + d.CloseCode().String())
		if s.notice != nil {
			n := Notice{CloseCode: int(d.CloseCode()), Reason: string(d.Reason())}
			var r protocol.ResumeHint
			if d.Resume(&r) != nil {
				n.Rejoin = r.Rejoin()
				n.RetryAfter = time.Duration(r.RetryAfterMs()) * time.Millisecond
				n.RoomID = string(r.RoomId())
			}
			s.notice.DisconnectNotice(n)
		}
	}
}
