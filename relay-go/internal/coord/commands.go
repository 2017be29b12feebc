package coord

import (
	"context"
	"time"
)

// CommandKind says which plaza.coord.CommandBody a Command came from.
type CommandKind uint8

const (
	CommandKick CommandKind = iota + 1
	CommandMute
	CommandUnmute
	CommandCloseRoom
	CommandAnnounce
	CommandDrain
	CommandReloadConfig
)

// AnnounceScope mirrors plaza.coord.AnnounceScope.
type AnnounceScope uint8

const (
	ScopeRoom AnnounceScope = iota
	ScopeWorld
	ScopeEveryone
)

// Command is an operator command (decoded from plaza.coord.RelayCommand).
// Fields not used by Kind are zero.
type Command struct {
	ID       string
	Kind     CommandKind
	IssuedBy string

	RoomID   string // Kick, Mute/Unmute (empty: every room), CloseRoom, Announce
	UserID   string // Kick, Mute, Unmute
	WorldID  string // Announce (ScopeWorld)
	Reason   string
	Banned   bool          // Kick: it enforces a ban (close 4108 Banned, not 4107 Kicked)
	Duration time.Duration // Mute: 0 = until unmuted; Drain: deadline
	Scope    AnnounceScope
	Text     string
	Config   WorldConfig // ReloadConfig
}

// CommandHandler executes one command and says what it did.
type CommandHandler func(ctx context.Context, c Command) (detail string, err error)

// CommandSource delivers operator commands.
//
// Run calls handle for each command, one at a time in arrival order, until
// ctx ends; it returns nil then, or an error when the source failed. It
// acknowledges each command (CommandAck event) with handle's result.
type CommandSource interface {
	Run(ctx context.Context, handle CommandHandler) error
}

// MemoryCommands is a CommandSource fed in-process (tests, admin API).
type MemoryCommands struct {
	ch   chan Command
	sink EventSink
}

// NewMemoryCommands returns a source with room for buffer pending commands;
// acks go to sink (nil: no acks).
func NewMemoryCommands(buffer int, sink EventSink) *MemoryCommands {
	return &MemoryCommands{ch: make(chan Command, buffer), sink: sink}
}

// Send queues c; it blocks while the buffer is full or until ctx ends.
func (m *MemoryCommands) Send(ctx context.Context, c Command) error {
	select {
	case m.ch <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run implements CommandSource.
func (m *MemoryCommands) Run(ctx context.Context, handle CommandHandler) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-m.ch:
			detail, err := handle(ctx, c)
			if m.sink != nil {
				ack := Event{Kind: EventCommandAck, RoomID: c.RoomID, OccurredAt: time.Now(), CommandID: c.ID, OK: err == nil, Detail: detail}
				if err != nil {
					ack.Detail = err.Error()
				}
				m.sink.Publish(ctx, ack)
			}
		}
	}
}
