package relay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/ratelimit"
	"github.com/plaza-dev/plaza/relay-go/internal/roomstate"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

// Frame implements transport.Peer: one client message. The transport calls
// it serially per session on its event-loop goroutine, so it never blocks
// (session_order.go: the Hello is handled on a goroutine of its own, and
// inputs for a busy room wait in the session's backlog). Every case of
// docs/protocol.md's bad-input table starts here.
func (s *Session) Frame(data []byte, text bool) {
	now := time.Now()
	s.lastRecv.Store(now.UnixNano())
	if s.closing.Load() {
		return
	}
	if text {
		s.hub.metrics.In(protocol.MessageNONE, len(data))
		s.closeGraceful(common.CloseCodeProtocolViolation, "text frames are not part of the protocol", common.LeaveReasonDisconnected)
		return
	}
	if s.state.Load() != stateJoined {
		s.beforeJoin(data)
		return
	}
	s.joinedFrame(data, now)
}

// asDecodeError returns err as a *wire.DecodeError (nil for nil). Kept out
// of joinedFrame so its errors.As target is only allocated on errors.
func asDecodeError(err error) *wire.DecodeError {
	if err == nil {
		return nil
	}
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		de = &wire.DecodeError{Code: common.ErrorCodeMalformedFrame, Msg: err.Error()}
	}
	return de
}

// joinedFrame handles one binary frame of a joined session.
func (s *Session) joinedFrame(data []byte, now time.Time) {
	var f wire.Frame
	de := asDecodeError(wire.Decode(data, &f))
	if de != nil {
		s.hub.metrics.In(de.Type, len(data))
	} else {
		s.hub.metrics.In(f.Type, len(data))
	}

	if de != nil {
		s.sendError(de.Code, de.Msg, de.RequestID, de.Type)
		s.strike(now)
		return
	}
	lim := s.lim
	switch f.Type {
	case protocol.MessageHello:
		s.sendError(common.ErrorCodeDuplicateHello, "already joined", 0, f.Type)
		s.strike(now)
	case protocol.MessageMove:
		// Moves coalesce instead of being rate limited: the room takes each
		// mover's newest Move once per tick, so however often a client
		// sends (games send one per rendered frame, 30–144 Hz), a Move
		// only replaces the pending one (latest wins). It is never refused
		// for its rate and never spends the abuse budget: refusing it would
		// leave the others looking at a stale position, and an honest
		// client at 60 Hz would be closed as abusive.
		if !s.permitted(ticket.PermMove, f.Type, 0) {
			return
		}
		if !finite(&f.Move.Transform) {
			s.sendError(common.ErrorCodeMalformedFrame, "transform has a NaN or infinite value", 0, f.Type)
			s.strike(now)
			return
		}
		s.putMove(&f.Move)
	case protocol.MessageChatSend:
		c := &f.Chat
		if !s.allow(&lim.chat, now, f.Type, c.RequestID) || !s.permitted(ticket.PermChat, f.Type, c.RequestID) {
			return
		}
		switch {
		case len(c.Text) == 0:
			s.sendError(common.ErrorCodeChatEmpty, "empty chat", c.RequestID, f.Type)
		case len(c.Text) > lim.maxChatBytes:
			s.sendError(common.ErrorCodeChatTooLong, fmt.Sprintf("chat of %d bytes exceeds %d", len(c.Text), lim.maxChatBytes), c.RequestID, f.Type)
		case !utf8.ValidString(c.Text):
			s.sendError(common.ErrorCodeChatInvalidUtf8, "chat is not valid UTF-8", c.RequestID, f.Type)
		default:
			s.toRoom(clientInput{kind: clientChat, s: s, text: c.Text, reqID: c.RequestID}, f.Type)
		}
	case protocol.MessageEmoteSend:
		e := &f.Emote
		if !s.allow(&lim.emote, now, f.Type, e.RequestID) || !s.permitted(ticket.PermEmote, f.Type, e.RequestID) {
			return
		}
		if len(e.Emote) == 0 || len(e.Emote) > maxEmoteBytes || !utf8.ValidString(e.Emote) {
			s.sendError(common.ErrorCodeEmoteInvalid, fmt.Sprintf("emote must be 1..%d bytes of UTF-8", maxEmoteBytes), e.RequestID, f.Type)
			return
		}
		s.toRoom(clientInput{kind: clientEmote, s: s, text: e.Emote, reqID: e.RequestID}, f.Type)
	case protocol.MessageStateSet:
		st := &f.State
		if !s.allow(&lim.state, now, f.Type, st.RequestID) || !s.permitted(ticket.PermState, f.Type, st.RequestID) {
			return
		}
		s.toRoom(clientInput{kind: clientState, s: s, reqID: st.RequestID, set: roomstate.Set{
			Key: st.Key, Value: st.Value, CompareAndSet: st.CompareAndSet, ExpectedVersion: st.ExpectedVersion, Delete: st.Delete,
		}}, f.Type)
	case protocol.MessagePing:
		p := &f.Ping
		if !s.allow(&lim.ping, now, f.Type, p.RequestID) {
			return
		}
		e := wire.GetEncoder()
		frame := e.Pong(p.ClientTimeMs, now.UnixMilli(), p.RequestID)
		wire.PutEncoder(e)
		s.writePong(frame)
	case protocol.MessageLeave:
		// The client is done: the member leaves now (the others get
		// MemberLeft{Left}), what is queued is still written, then the
		// connection closes with 1000. Frames after it are ignored.
		s.closeGraceful(common.CloseCodeNormal, "left the room", common.LeaveReasonLeft)
		if r := s.room.Load(); r != nil {
			r.leave(s)
		}
	}
}

// writePong writes a Pong at once, past the send queue: a client measures
// its round trip with it, and a queued Pong would wait for the room's next
// tick whenever the room holds this session's flush (decision 005). Pongs
// are small, rate-limited and answer by request id, so skipping the queue's
// order costs nothing; the transport serialises whole writes, so frames
// never interleave.
func (s *Session) writePong(frame []byte) {
	if !s.closing.Load() {
		s.write([][]byte{frame})
	}
}

// allow takes a token from b or answers RateLimited.
func (s *Session) allow(b *ratelimit.Bucket, now time.Time, typ protocol.Message, requestID uint32) bool {
	if b.Allow(now) {
		return true
	}
	s.sendError(common.ErrorCodeRateLimited, "rate limited", requestID, typ)
	s.strike(now)
	return false
}

// strike takes an abuse token; a session out of tokens is flooding and is
// closed with Abuse.
func (s *Session) strike(now time.Time) {
	if s.lim == nil || !s.lim.abuse.Allow(now) {
		s.closeNow(common.CloseCodeAbuse, "too many refused messages", common.LeaveReasonKicked)
	}
}

func (s *Session) permitted(p ticket.Perms, typ protocol.Message, requestID uint32) bool {
	if s.claims.Load().Perms.Has(p) {
		return true
	}
	s.sendError(common.ErrorCodeNotPermitted, "the ticket does not permit "+protocol.EnumNamesMessage[typ], requestID, typ)
	return false
}

func finite(t *wire.Transform) bool {
	for _, v := range t.Position {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	for _, v := range t.Rotation {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	for _, v := range t.Velocity {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// hello verifies the ticket and joins the room, on its own goroutine. On
// any refusal the session is closed with the refusal's close code; on
// success the frames that arrived meanwhile are handled, then the session
// is joined.
func (s *Session) hello(h *wire.Hello) {
	h0 := s.hub
	if h.ProtocolVersion != uint16(common.ProtocolVersionV1) {
		s.closeGraceful(common.CloseCodeUnsupportedVersion, fmt.Sprintf("protocol version %d is not supported (want 1)", h.ProtocolVersion), common.LeaveReasonDisconnected)
		return
	}
	if h0.Draining() {
		s.closeGraceful(common.CloseCodeDraining, "relay is draining; rejoin through the control plane", common.LeaveReasonDisconnected)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), joinWaitTimeout)
	defer cancel()
	c, err := h0.cfg.Verifier.Verify(ctx, h.Ticket)
	if err != nil {
		s.refuseTicket(ticket.ReasonOf(err), err)
		return
	}
	s.claims.Store(c)
	// The room's allocation must name this relay and the ticket's lifetime
	// now (decision 009): a ticket minted before its room was released
	// never re-opens the room. Fail closed when Redis cannot say.
	ok, err := h0.cfg.Assignments.Assigned(ctx, c.Room, c.RoomLifetime)
	if err != nil {
		s.refuseTicket(ticket.ReasonUnavailable, fmt.Errorf("room %q lifetime %d: assignment check failed: %w", c.Room, c.RoomLifetime, err))
		return
	}
	if !ok {
		s.refuseTicket(ticket.ReasonWrongRoom, fmt.Errorf("room %q lifetime %d is not assigned to this relay", c.Room, c.RoomLifetime))
		return
	}
	res, err := h0.join(ctx, s, c)
	if err != nil {
		var je *joinError
		if errors.As(err, &je) {
			if je.code == common.CloseCodeTicketWrongRoom {
				h0.metrics.TicketRejections.WithLabelValues(string(ticket.ReasonWrongRoom)).Inc()
			}
			s.closeGraceful(je.code, je.msg, common.LeaveReasonDisconnected)
			return
		}
		s.closeGraceful(common.CloseCodeInternalError, "join failed", common.LeaveReasonDisconnected)
		s.log().Error("join failed", "err", err)
		return
	}
	now := time.Now()
	w := res.world
	s.lim = &sessionLimits{
		chat:         ratelimit.NewBucket(w.ChatsPerSecond, w.ChatBurst, now),
		emote:        ratelimit.NewBucket(w.EmotesPerSecond, w.EmoteBurst, now),
		state:        ratelimit.NewBucket(w.StateSetsPerSecond, w.StateSetBurst, now),
		ping:         ratelimit.NewBucket(pingsPerSecond, pingBurst, now),
		abuse:        ratelimit.NewBucket(abusePerSecond, abuseBurst, now),
		maxChatBytes: w.MaxChatBytes,
	}
	s.memberID = res.memberID
	s.log().Info("session joined", "member", res.memberID, "client", h.ClientVersion)
	s.admitEarly()
}

func (s *Session) refuseTicket(r ticket.Reason, err error) {
	s.hub.metrics.TicketRejections.WithLabelValues(string(r)).Inc()
	s.log().Info("ticket refused", "reason", string(r), "err", err)
	s.closeGraceful(r.CloseCode(), "ticket refused: "+string(r), common.LeaveReasonDisconnected)
}
