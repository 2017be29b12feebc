package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
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

// clientVersion is what the load generator reports in Hello.
const clientVersion = "plaza-loadgen/1"

// PlazaTarget joins Plaza relays, either with tickets it mints itself
// (relay-only mode) or through the control plane.
type PlazaTarget struct {
	URL            string         // relay WebSocket URL (relay-only mode)
	Minter         *Minter        // relay-only mode: signs tickets
	Control        *ControlClient // control-plane mode when non-nil
	RoomPrefix     string         // room ids are RoomPrefix + index; zero value "bench-r"
	WelcomeTimeout time.Duration  // zero value: 10 s
}

func newPlazaTargetFromPlan(p *Plan) (Target, error) {
	t := &PlazaTarget{URL: p.URL, RoomPrefix: p.RoomPrefix}
	if p.ControlURL != "" {
		t.Control = NewControlClient(p.ControlURL, p.ControlWorld)
		t.Control.SignInPath, t.Control.JoinPath = p.ControlSignInPath, p.ControlJoinPath
		return t, nil
	}
	m, err := NewMinter(p.TicketSeed, p.TicketKid, p.RelayID, p.WorldID)
	if err != nil {
		return nil, err
	}
	t.Minter = m
	return t, nil
}

// RoomID is the id of room index i.
func (t *PlazaTarget) RoomID(i int) string {
	p := t.RoomPrefix
	if p == "" {
		p = "bench-r"
	}
	return fmt.Sprintf("%s%03d", p, i)
}

// Join implements Target. In control-plane mode a join refused with a 40xx
// close code (get a new ticket and rejoin, docs/protocol.md) is retried
// with a new ticket, up to joinAttempts times, as a real client would.
func (t *PlazaTarget) Join(ctx context.Context, m *Member, local net.IP, sink Sink) (Session, JoinTiming, error) {
	var tm JoinTiming
	start := time.Now()
	var session string
	if t.Control != nil {
		var err error
		if session, err = t.Control.SignIn(ctx, m, local); err != nil {
			return nil, tm, err
		}
	}
	for attempt := 1; ; attempt++ {
		url, ticket := t.URL, ""
		if t.Control != nil {
			j, err := t.Control.Join(ctx, session, local)
			if err != nil {
				return nil, tm, err
			}
			url, ticket = j.URL, j.Ticket
			tm.Control = time.Since(start)
		} else {
			var err error
			if ticket, err = t.Minter.Mint(m.User, m.Name, t.RoomID(m.Room)); err != nil {
				return nil, tm, &JoinError{Kind: "ticket", Err: err}
			}
		}
		s, connect, err := t.connect(ctx, url, ticket, local, sink)
		var je *JoinError
		if err != nil && t.Control != nil && attempt < joinAttempts && errors.As(err, &je) && strings.HasPrefix(je.Kind, "close_40") {
			sink.Event("join_retry_" + je.Kind)
			select {
			case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
				continue
			case <-ctx.Done():
				return nil, tm, err
			}
		}
		if err != nil {
			return nil, tm, err
		}
		tm.Connect = connect
		tm.Join = time.Since(start)
		return s, tm, nil
	}
}

// joinAttempts bounds rejoins after a 40xx refusal in control-plane mode.
const joinAttempts = 4

// connect opens the WebSocket from local, sends Hello with ticket and waits
// for Welcome. connect is the TCP + upgrade time.
func (t *PlazaTarget) connect(ctx context.Context, url, ticket string, local net.IP, sink Sink) (*plazaSession, time.Duration, error) {
	start := time.Now()
	s := &plazaSession{sink: sink, welcome: make(chan error, 1)}
	conn, _, err := gws.NewClient(s, &gws.ClientOption{
		Addr:             url,
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
		return nil, 0, &JoinError{Kind: kind, Err: err}
	}
	connect := time.Since(start)
	s.conn = conn
	go conn.ReadLoop()
	enc := wire.GetEncoder()
	hello := enc.Hello(ticket, clientVersion, uint16(common.ProtocolVersionV1))
	wire.PutEncoder(enc)
	if err := conn.WriteMessage(gws.OpcodeBinary, hello); err != nil {
		_ = conn.NetConn().Close()
		return nil, connect, &JoinError{Kind: "write_hello", Err: err}
	}
	wt := t.WelcomeTimeout
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
			return nil, connect, err
		}
	case <-timer.C:
		s.closing.Store(true)
		_ = conn.NetConn().Close()
		return nil, connect, &JoinError{Kind: "welcome_timeout", Err: fmt.Errorf("no Welcome within %s", wt)}
	case <-ctx.Done():
		s.closing.Store(true)
		_ = conn.NetConn().Close()
		return nil, connect, &JoinError{Kind: "canceled", Err: ctx.Err()}
	}
	return s, connect, nil
}

// plazaSession is one member's relay connection; gws calls its event
// methods from the connection's ReadLoop goroutine.
type plazaSession struct {
	gws.BuiltinEventHandler
	conn     *gws.Conn
	sink     Sink
	welcome  chan error // receives exactly once: nil on Welcome, else why not
	welcomed atomic.Bool
	closing  atomic.Bool
	memberID uint32
	seq      uint64 // last room sequence seen (Welcome snapshot, then every reliable event)
}

// sequenced checks the room sequence of a reliable event: it must be exactly
// one more than the last (docs/protocol.md, "Sequence numbers").
func (s *plazaSession) sequenced(seq uint64) {
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

func (s *plazaSession) Move(p *Pose, nowMs int64) error {
	enc := wire.GetEncoder()
	f := enc.Move(&wire.Transform{Position: p.Position, Rotation: p.Rotation, Velocity: p.Velocity}, nowMs)
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

func (s *plazaSession) Chat(text string, requestID uint32) error {
	enc := wire.GetEncoder()
	f := enc.ChatSend(text, requestID)
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

func (s *plazaSession) Ping(nowMs int64) error {
	enc := wire.GetEncoder()
	f := enc.Ping(nowMs, 0)
	wire.PutEncoder(enc)
	return s.conn.WriteMessage(gws.OpcodeBinary, f)
}

func (s *plazaSession) Close() error {
	s.closing.Store(true)
	return s.conn.WriteClose(1000, nil)
}

func (s *plazaSession) OnClose(_ *gws.Conn, err error) {
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

func (s *plazaSession) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	s.handle(msg.Bytes())
}

// handle decodes one relay frame and reports what it carries to the sink.
func (s *plazaSession) handle(b []byte) {
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
	case protocol.MessageMemberLeft:
		var ml protocol.MemberLeft
		ml.Init(tab.Bytes, tab.Pos)
		s.sequenced(ml.Sequence())
	case protocol.MessageEmotePlayed:
		var ep protocol.EmotePlayed
		ep.Init(tab.Bytes, tab.Pos)
		s.sequenced(ep.Sequence())
	case protocol.MessageStateChanged:
		var sc protocol.StateChanged
		sc.Init(tab.Bytes, tab.Pos)
		s.sequenced(sc.Sequence())
	case protocol.MessageAnnouncement:
		var an protocol.Announcement
		an.Init(tab.Bytes, tab.Pos)
		s.sequenced(an.Sequence())
	case protocol.MessageWelcome:
		var w protocol.Welcome
		w.Init(tab.Bytes, tab.Pos)
		s.memberID = w.MemberId()
		var snap protocol.RoomSnapshot
		if w.Snapshot(&snap) != nil {
			s.seq = snap.Sequence()
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
	}
}
