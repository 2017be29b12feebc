package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// Operator actions. Each is safe for concurrent use, returns how many
// sessions or rooms it affected, and is what coord commands call.

// roomsFor returns the room with id, or every room when id is empty.
func (h *Hub) roomsFor(id string) []*Room {
	if id == "" {
		return h.allRooms()
	}
	if r := h.room(id); r != nil {
		return []*Room{r}
	}
	return nil
}

// each sends req to every room in rooms and sums the replies' counts; a
// room that closed meanwhile counts 0 and is not an error.
func (h *Hub) each(ctx context.Context, rooms []*Room, req roomRequest) (int, error) {
	n := 0
	var errs []error
	for _, r := range rooms {
		rep, err := r.request(ctx, req)
		if err != nil && !errors.Is(err, errRoomGone) {
			errs = append(errs, fmt.Errorf("room %s: %w", r.id, err))
			continue
		}
		n += rep.n
	}
	return n, errors.Join(errs...)
}

// Kick removes userID from roomID (every room when empty) and closes its
// session with Kicked (4107), after a DisconnectNotice saying so.
func (h *Hub) Kick(ctx context.Context, roomID, userID, reason string) (int, error) {
	if reason == "" {
		reason = "kicked by an operator"
	}
	return h.each(ctx, h.roomsFor(roomID), kickRequest{userID: userID, reason: reason, code: common.CloseCodeKicked})
}

// Ban is Kick for a banned user: the session is closed with Banned (4108),
// after a DisconnectNotice saying so. The ban itself (refusing new joins)
// is the control plane's; the relay only removes the user.
func (h *Hub) Ban(ctx context.Context, roomID, userID, reason string) (int, error) {
	if reason == "" {
		reason = "banned"
	}
	return h.each(ctx, h.roomsFor(roomID), kickRequest{userID: userID, reason: reason, code: common.CloseCodeBanned})
}

// Mute refuses userID's chat in roomID (every room when empty) for d
// (0 = until Unmute). Mutes live in the room and end when it closes.
func (h *Hub) Mute(ctx context.Context, roomID, userID string, d time.Duration) (int, error) {
	var until time.Time
	if d > 0 {
		until = time.Now().Add(d)
	}
	return h.each(ctx, h.roomsFor(roomID), muteRequest{userID: userID, until: until})
}

// Unmute lifts a mute.
func (h *Hub) Unmute(ctx context.Context, roomID, userID string) (int, error) {
	return h.each(ctx, h.roomsFor(roomID), unmuteRequest{userID: userID})
}

// CloseRoom closes a room: every member leaves with RoomClosed and is
// closed with RoomClosed (4007), after a DisconnectNotice; its state is
// saved.
func (h *Hub) CloseRoom(ctx context.Context, roomID, reason string) (int, error) {
	r := h.room(roomID)
	if r == nil {
		return 0, fmt.Errorf("close room %s: not open on this relay", roomID)
	}
	if reason == "" {
		reason = "room closed by an operator"
	}
	return h.each(ctx, []*Room{r}, closeRequest{code: common.CloseCodeRoomClosed, reason: reason, leave: common.LeaveReasonRoomClosed})
}

// Announce sends an Announcement (sequenced per room) to one room, the
// rooms of one world, or everyone.
func (h *Hub) Announce(ctx context.Context, scope coord.AnnounceScope, roomID, worldID, text string) (int, error) {
	var rooms []*Room
	switch scope {
	case coord.ScopeRoom:
		if roomID == "" {
			return 0, errors.New("announce: room scope needs a room id")
		}
		rooms = h.roomsFor(roomID)
	case coord.ScopeWorld:
		for _, r := range h.allRooms() {
			if r.world == worldID {
				rooms = append(rooms, r)
			}
		}
	default:
		rooms = h.allRooms()
	}
	return h.each(ctx, rooms, announceRequest{text: text})
}

// configSetter is implemented by world config sources that accept pushed
// configs (MemoryWorldConfigs).
type configSetter interface {
	Set(cfg coord.WorldConfig) (bool, error)
}

// ReloadConfig applies a world config to the world's open rooms (capacity,
// tick rate, interest, state limits at once; per-session rate limits and
// chat length for sessions that join afterwards) and stores it for new
// rooms when the source accepts pushes.
func (h *Hub) ReloadConfig(ctx context.Context, cfg coord.WorldConfig) (int, error) {
	if err := cfg.Validate(); err != nil {
		return 0, fmt.Errorf("reload config: %w", err)
	}
	if set, ok := h.cfg.Worlds.(configSetter); ok {
		stored, err := set.Set(cfg)
		if err != nil {
			return 0, fmt.Errorf("reload config: %w", err)
		}
		if !stored {
			return 0, nil // older than what we hold
		}
	}
	var rooms []*Room
	for _, r := range h.allRooms() {
		if r.world == cfg.WorldID {
			rooms = append(rooms, r)
		}
	}
	return h.each(ctx, rooms, configRequest{cfg: cfg})
}

// HandleCommand executes one operator command (coord.CommandHandler).
func (h *Hub) HandleCommand(ctx context.Context, c coord.Command) (string, error) {
	var n int
	var err error
	var what string
	switch c.Kind {
	case coord.CommandKick:
		if c.Banned {
			n, err = h.Ban(ctx, c.RoomID, c.UserID, c.Reason)
		} else {
			n, err = h.Kick(ctx, c.RoomID, c.UserID, c.Reason)
		}
		what = "kick"
	case coord.CommandMute:
		n, err = h.Mute(ctx, c.RoomID, c.UserID, c.Duration)
		what = "mute"
	case coord.CommandUnmute:
		n, err = h.Unmute(ctx, c.RoomID, c.UserID)
		what = "unmute"
	case coord.CommandCloseRoom:
		n, err = h.CloseRoom(ctx, c.RoomID, c.Reason)
		what = "close_room"
	case coord.CommandAnnounce:
		n, err = h.Announce(ctx, c.Scope, c.RoomID, c.WorldID, c.Text)
		what = "announce"
	case coord.CommandDrain:
		what = "drain"
		// Counted here: a drain answers before it is done (it returns below).
		h.metrics.Commands.WithLabelValues(what, "ok").Inc()
		d := c.Duration
		if d <= 0 {
			d = h.cfg.DrainTimeout
		}
		// A drain outlives the command: it runs until the relay is empty,
		// and then the relay exits (Server), as after SIGTERM.
		if h.drainRequested != nil {
			h.drainRequested(c.Reason, d)
			return "draining", nil
		}
		go func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
			defer cancel()
			_ = h.Drain(dctx, c.Reason)
		}()
		return "draining", nil
	case coord.CommandReloadConfig:
		n, err = h.ReloadConfig(ctx, c.Config)
		what = "reload_config"
	default:
		return "", fmt.Errorf("unknown command kind %d", c.Kind)
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	h.metrics.Commands.WithLabelValues(what, result).Inc()
	h.log.Info("command", "id", c.ID, "kind", what, "by", c.IssuedBy, "affected", n, "err", err)
	return fmt.Sprintf("%s affected %d", what, n), err
}
