package client

import (
	"context"
	"errors"
	"strings"
	"time"
)

// JoinAttempts bounds how often JoinWorld asks for a new ticket after the
// relay refused one with a 40xx close code.
const JoinAttempts = 4

// JoinWorld is the whole join path of docs/protocol.md for one player:
// sign g in, ask the control plane for a seat in c.World, dial the relay it
// names with the ticket, and return once the relay's Welcome arrived.
// A Hello refused with a 40xx close code (get a new ticket and rejoin) is
// retried with a new ticket, up to JoinAttempts times paced by Backoff,
// as a real client would. It blocks for the whole path; opt is passed to
// Dial. The timing's Control covers every sign-in and join call made.
func (c *Control) JoinWorld(ctx context.Context, g Guest, opt DialOptions) (*Session, JoinTiming, error) {
	return c.JoinRoom(ctx, g, JoinRequest{}, opt)
}

// JoinRoom is JoinWorld for the room and resumed session r names (the
// rejoin after a drain or failure).
func (c *Control) JoinRoom(ctx context.Context, g Guest, r JoinRequest, opt DialOptions) (*Session, JoinTiming, error) {
	var tm JoinTiming
	start := time.Now()
	session, err := c.SignIn(ctx, g, opt.Local)
	if err != nil {
		return nil, tm, err
	}
	for attempt := 1; ; attempt++ {
		j, err := c.JoinWith(ctx, session, opt.Local, r)
		if err != nil {
			return nil, tm, err
		}
		tm.Control = time.Since(start)
		s, err := Dial(ctx, j.URL, j.Ticket, opt)
		var je *JoinError
		if err != nil && attempt < JoinAttempts && errors.As(err, &je) && strings.HasPrefix(je.Kind, "close_40") {
			if opt.Handler != nil {
				opt.Handler.Event("join_retry_" + je.Kind)
			}
			select {
			case <-time.After(Backoff(attempt-1, 0, nil)):
				continue
			case <-ctx.Done():
				return nil, tm, err
			}
		}
		if err != nil {
			return nil, tm, err
		}
		tm.Connect = s.ConnectTime()
		tm.Join = time.Since(start)
		return s, tm, nil
	}
}
