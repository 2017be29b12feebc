package redisbridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// Commands is the Redis coord.CommandSource: it subscribes to
// P cmd:relay:<id> and P cmd:all, decodes each RelayCommand (PLZC, verified),
// ignores those targeted at another relay, runs the handler one at a time in
// arrival order and acknowledges with a CommandAck event through Events.
// On connection loss it re-subscribes with backoff; commands published in
// between are lost (pub/sub is at most once).
type Commands struct {
	b          *Bridge
	subscribed atomic.Bool
}

func newCommands(b *Bridge) *Commands { return &Commands{b: b} }

// Ready implements relay.ReadyChecker: Redis answers and the command
// channels are subscribed.
func (c *Commands) Ready(ctx context.Context) error {
	if err := c.b.Ready(ctx); err != nil {
		return err
	}
	if !c.subscribed.Load() {
		return errors.New("command channels not subscribed")
	}
	return nil
}

// Subscribed reports whether the command channels are subscribed now.
func (c *Commands) Subscribed() bool { return c.subscribed.Load() }

// Run implements coord.CommandSource. It returns nil when ctx ends.
func (c *Commands) Run(ctx context.Context, handle coord.CommandHandler) error {
	var bo backoff
	for ctx.Err() == nil {
		err := c.session(ctx, handle, &bo)
		c.subscribed.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		c.b.redisError("subscribe")
		c.b.log.Warn("command subscription lost; re-subscribing", "err", err)
		if !sleep(ctx, bo.next()) {
			return nil
		}
	}
	return nil
}

// session subscribes once and delivers commands until the connection fails.
func (c *Commands) session(ctx context.Context, handle coord.CommandHandler, bo *backoff) error {
	ps := c.b.rdb.Subscribe(ctx)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	chans := []string{c.b.keyspace.cmdRelay(), c.b.keyspace.cmdAll()}
	if err := ps.Subscribe(ctx, chans...); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	// Wait for both confirmations so Ready means "commands will arrive".
	for confirmed := 0; confirmed < len(chans); {
		msg, err := ps.ReceiveTimeout(ctx, 3*time.Second)
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			confirmed++
		case *redis.Message:
			c.deliver(ctx, handle, []byte(m.Payload))
		}
	}
	c.subscribed.Store(true)
	bo.reset()
	c.b.log.Info("subscribed to command channels", "channels", chans)
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, 3*time.Second)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				// Quiet channel: make sure the connection is alive.
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("ping: %w", err)
				}
				pinged = true
				continue
			}
			return fmt.Errorf("receive: %w", err)
		}
		pinged = false
		if m, ok := msg.(*redis.Message); ok {
			c.deliver(ctx, handle, []byte(m.Payload))
		}
	}
}

// deliver decodes one command, runs it and acknowledges it.
func (c *Commands) deliver(ctx context.Context, handle coord.CommandHandler, payload []byte) {
	d, err := decodeCommand(payload)
	if err != nil {
		c.b.metrics.commands.WithLabelValues("invalid").Inc()
		c.b.log.Warn("command refused: not a valid RelayCommand", "err", err, "bytes", len(payload))
		return
	}
	if d.Target != "" && d.Target != c.b.cfg.RelayID {
		c.b.metrics.commands.WithLabelValues("ignored").Inc()
		return
	}
	cmd := d.Cmd
	c.b.metrics.commands.WithLabelValues(kindName(cmd.Kind)).Inc()
	var detail string
	if cmd.Kind == 0 {
		err = errors.New("unknown command body (newer schema or none)")
	} else {
		detail, err = handle(ctx, cmd)
	}
	ack := coord.Event{Kind: coord.EventCommandAck, RoomID: cmd.RoomID, OccurredAt: time.Now(), CommandID: cmd.ID, OK: err == nil, Detail: detail}
	if err != nil {
		ack.Detail = err.Error()
	}
	c.b.Events.Publish(ctx, ack)
}
