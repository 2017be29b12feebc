package client

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Handler receives what one Session delivers. Every call for one session
// comes from that session's read goroutine, one at a time and in the order
// the relay sent the frames; a Handler shared by several sessions must
// synchronise itself. Calls must not block: the session reads no further
// frame until the call returns. Byte slices (chat text) are only valid
// during the call; copy them to keep them.
type Handler interface {
	// Movement reports one avatar update of member from (never the
	// session's own avatar), received at nowUs (Unix µs) and sent at
	// sentMsLow (low 32 bits of the sender's Unix milliseconds, as the
	// sender passed them to Move).
	Movement(nowUs int64, from uint32, sentMsLow uint32)
	// Batch reports one movement frame stamped by the relay at serverMs
	// (Unix ms) and received at nowUs: the relay -> client leg of latency.
	// It comes before the frame's Movement calls.
	Batch(nowUs int64, serverMs int64)
	// Chat reports one chat line as the sender wrote it, with the room
	// sequence number the relay gave it.
	Chat(nowUs int64, text []byte, seq uint64)
	// Event counts something notable that has no method of its own, by
	// kind: "error_<ErrorCode>" (a typed error frame, e.g.
	// "error_RateLimited"), "disconnect_notice_<CloseCode>",
	// "relay_seq_gap" / "relay_seq_duplicate" (a reliable event whose room
	// sequence is not exactly the last one plus one), "client_bad_frame",
	// "client_empty_envelope", "client_decode_panic".
	Event(kind string)
	// Closed reports that the relay or the network ended the session, with
	// kind as CloseKind names it (e.g. "close_4004_RoomClosed",
	// "conn_reset"). It is called at most once, and never after the
	// caller's own Session.Close.
	Closed(kind string)
}

// RoomHandler is optionally implemented by a Handler that wants the room's
// reliable events beyond chat, decoded. Dial checks for it once; the same
// goroutine and blocking rules as Handler apply. seq is the event's room
// sequence number (already checked for gaps, see Handler.Event).
type RoomHandler interface {
	MemberJoined(m Member, seq uint64)
	MemberLeft(memberID uint32, userID string, seq uint64)
	Emote(memberID uint32, emote string, seq uint64)
	StateChanged(key string, value []byte, version uint64, deleted bool, seq uint64)
	Announcement(text string, seq uint64)
}

// NoticeHandler is optionally implemented by a Handler that wants the
// DisconnectNotice the relay sends before it closes a session itself
// (docs/protocol.md §5): where to resume and when. Dial checks for it once;
// the same goroutine and blocking rules as Handler apply, and it comes
// before the Closed of the same session.
type NoticeHandler interface {
	DisconnectNotice(n Notice)
}

// Notice is a decoded DisconnectNotice. Rejoin false means do not
// reconnect (a terminal 41xx close follows); RetryAfter is the server's
// hint for Backoff; RoomID is the room to join again (the same room, on
// whichever relay now hosts it).
type Notice struct {
	CloseCode  int
	Reason     string
	Rejoin     bool
	RetryAfter time.Duration
	RoomID     string
}

// Member is a room member as the relay describes it (Welcome snapshot,
// MemberJoined).
type Member struct {
	ID          uint32
	UserID      string
	DisplayName string
	JoinedAtMs  int64
}

// NopHandler implements Handler and RoomHandler by ignoring everything.
// Embed it to handle only some events.
type NopHandler struct{}

func (NopHandler) Movement(int64, uint32, uint32)                    {}
func (NopHandler) Batch(int64, int64)                                {}
func (NopHandler) Chat(int64, []byte, uint64)                        {}
func (NopHandler) Event(string)                                      {}
func (NopHandler) Closed(string)                                     {}
func (NopHandler) MemberJoined(Member, uint64)                       {}
func (NopHandler) MemberLeft(uint32, string, uint64)                 {}
func (NopHandler) Emote(uint32, string, uint64)                      {}
func (NopHandler) StateChanged(string, []byte, uint64, bool, uint64) {}
func (NopHandler) Announcement(string, uint64)                       {}

// CloseKind names why a connection ended: "close_<code>[_<name>]" when the
// peer sent a close frame (code given by the caller), else a network
// category (conn_eof, conn_reset, conn_timeout, conn_closed, conn_error).
func CloseKind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "conn_closed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "conn_eof"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "conn_reset"
	case errors.Is(err, net.ErrClosed):
		return "conn_closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "conn_timeout"
	}
	return "conn_error"
}

// JoinError is a failed sign-in, join or dial with a countable kind:
// "dial", "handshake", "write_hello", "welcome_timeout", "canceled",
// "close_4102_<name>" (the relay refused the Hello), "signin_http_503",
// "join_bad_answer", "deadline", ... Errors from SignIn, Join, Dial and
// JoinWorld wrap one whenever the failure has such a kind (errors.As).
type JoinError struct {
	Kind string
	// Status is the HTTP status of a control-plane answer (0 otherwise).
	Status int
	// Problem is the problem+json code of that answer (its type's
	// urn:plaza:problem:<code>, e.g. "overloaded", "no-relay"); "" if none.
	Problem string
	// RetryAfter is the server's hint of a 409, 429 or 503 answer
	// (RetryAfter: the body's retry_after_ms, else Retry-After); 0: none.
	RetryAfter time.Duration
	Err        error
}

func (e *JoinError) Error() string { return fmt.Sprintf("join %s: %v", e.Kind, e.Err) }
func (e *JoinError) Unwrap() error { return e.Err }

// JoinTiming is how long a join took. Join runs from the first byte the
// client sent (sign-in request or TCP dial) to the relay's Welcome; Connect
// is the TCP connect + WebSocket upgrade alone; Control is the sign-in and
// join HTTP calls (zero when no control plane was involved).
type JoinTiming struct {
	Control time.Duration
	Connect time.Duration
	Join    time.Duration
}
