package relay

import (
	"context"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/roomstate"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
)

// How inputs reach a room.
//
// The room goroutine (Room.run) is the only reader of its inbox, and the
// inbox is the only way into the room except departures (Room.leave). Its
// writers use one of three Room methods, which differ in whether and how
// long they wait:
//
//   - offer never blocks: it reports false when the inbox is full. The
//     receive path uses it (it runs on the transport's event loop) and keeps
//     what did not fit in the session's backlog (session_order.go).
//   - submit waits while the inbox is full, until the room stops. The
//     session's backlog feeder uses it, on a goroutine of its own.
//   - request hands the room a request and waits for its reply, for as long
//     as ctx allows. The hub's joins and operator actions use it.
//
// The inbox is one FIFO channel: inputs from one goroutine are handled in
// the order their calls returned; inputs from different goroutines have no
// order between them. submit and request must not be called on the room's
// own goroutine (it would wait for itself).

// inboxSize bounds a room's pending inputs; a session whose input finds it
// full keeps it, in order, in its own backlog (session_order.go), so
// neither the room nor the transport's event loop ever waits.
const inboxSize = 128

// roomInput is one message on a room's inbox: a client input (client, when
// req is nil) or a request (req, answered on reply).
//
// Client inputs are the hot kinds (every chat line, emote and state set
// passes here), so they travel by value in a tagged struct: behind an
// interface each one would be boxed on the heap, one allocation per input
// on the receive path. Requests are rare (one join per connection,
// operator actions) and allocate their reply channel anyway, so they are a
// sum type proper: an interface with one type per kind, each with its own
// handler, checked by the compiler.
type roomInput struct {
	client clientInput
	req    roomRequest
	reply  chan<- roomReply
}

// clientKind says which client message a clientInput carries.
type clientKind uint8

const (
	clientChat clientKind = iota + 1
	clientEmote
	clientState
)

// clientInput is a reliable message from a joined session to its room. The
// room ignores it when s is no longer a member.
type clientInput struct {
	kind  clientKind
	s     *Session
	reqID uint32        // the client's request id, echoed in errors and broadcasts
	text  string        // clientChat: the line; clientEmote: the emote
	set   roomstate.Set // clientState
}

// roomRequest is a request a room answers. handle runs on the room
// goroutine (it may use every room-owned field) and returns the reply the
// requester receives.
type roomRequest interface {
	handle(ctx context.Context, r *Room) roomReply
}

// roomReply answers a request. n is what the request counts (members
// affected; for tickRequest the room's tick counter); err is a refusal.
type roomReply struct {
	n    int
	err  error
	join joinResult    // joinRequest, when err is nil
	took time.Duration // tickRequest: the tick's own duration
}

// offer puts c on the inbox if there is room. Any goroutine; never blocks.
// false: the inbox is full and c was not taken. A room that has stopped
// may take c and never handle it.
func (r *Room) offer(c clientInput) bool {
	select {
	case r.inbox <- roomInput{client: c}:
		return true
	default:
		return false
	}
}

// submit puts c on the inbox, waiting while it is full. false: the room
// stopped first and c was not taken. Never on the room's own goroutine.
func (r *Room) submit(c clientInput) bool {
	select {
	case r.inbox <- roomInput{client: c}:
		return true
	case <-r.done:
		return false
	}
}

// request hands req to the room and waits for its reply. It fails with
// errRoomGone when the room stopped before replying, with ctx's error when
// ctx ended first, and with the reply's err otherwise. A request the room
// took is handled even when ctx ends first (the reply is then dropped).
// Never on the room's own goroutine.
func (r *Room) request(ctx context.Context, req roomRequest) (roomReply, error) {
	reply := make(chan roomReply, 1)
	select {
	case r.inbox <- roomInput{req: req, reply: reply}:
	case <-r.done:
		return roomReply{}, errRoomGone
	case <-ctx.Done():
		return roomReply{}, ctx.Err()
	}
	select {
	case rep := <-reply:
		return rep, rep.err
	case <-r.done:
		return roomReply{}, errRoomGone
	case <-ctx.Done():
		return roomReply{}, ctx.Err()
	}
}

// handle applies one input (room goroutine).
func (r *Room) handle(ctx context.Context, in roomInput) {
	if in.req != nil {
		in.reply <- in.req.handle(ctx, r)
		return
	}
	c := &in.client
	switch c.kind {
	case clientChat:
		r.chat(c)
	case clientEmote:
		r.emote(c)
	case clientState:
		r.setState(c)
	}
}

// joinRequest adds s to the room (Hub.join). Its reply carries the member
// id and the world config the session's limits come from, or a *joinError.
type joinRequest struct {
	s      *Session
	claims *ticket.Claims
}

func (q joinRequest) handle(_ context.Context, r *Room) roomReply {
	res, err := r.join(q.s, q.claims)
	return roomReply{join: res, err: err}
}

// kickRequest removes userID and closes its session with code (Kicked or
// Banned); n is 0 or 1.
type kickRequest struct {
	userID, reason string
	code           common.CloseCode
}

func (q kickRequest) handle(_ context.Context, r *Room) roomReply {
	return roomReply{n: r.kick(q.userID, q.reason, q.code)}
}

// muteRequest refuses userID's chat until until (zero: until unmuted).
type muteRequest struct {
	userID string
	until  time.Time
}

func (q muteRequest) handle(_ context.Context, r *Room) roomReply {
	r.muted[q.userID] = q.until
	return roomReply{n: 1}
}

// unmuteRequest lifts userID's mute.
type unmuteRequest struct{ userID string }

func (q unmuteRequest) handle(_ context.Context, r *Room) roomReply {
	delete(r.muted, q.userID)
	return roomReply{n: 1}
}

// closeRequest closes every member's session with code and closes the
// room after the reply; n is the members it had.
type closeRequest struct {
	code   common.CloseCode
	reason string
	leave  common.LeaveReason
}

func (q closeRequest) handle(_ context.Context, r *Room) roomReply {
	n := len(r.members)
	r.closeAll(q.code, q.reason, q.leave)
	r.closing, r.closeReason = true, q.reason
	return roomReply{n: n}
}

// announceRequest broadcasts an Announcement; n is the members it reached.
type announceRequest struct{ text string }

func (q announceRequest) handle(_ context.Context, r *Room) roomReply {
	return roomReply{n: r.announce(q.text)}
}

// configRequest replaces the room's world config.
type configRequest struct{ cfg coord.WorldConfig }

func (q configRequest) handle(_ context.Context, r *Room) roomReply {
	r.reconfigure(q.cfg)
	return roomReply{n: 1}
}

// tickRequest runs one movement tick now, in addition to the ticker (tests
// and benchmarks drive ticks deterministically with it).
type tickRequest struct{}

func (tickRequest) handle(_ context.Context, r *Room) roomReply {
	took := r.runTick()
	return roomReply{took: took, n: int(r.tick)}
}
