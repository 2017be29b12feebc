// Package client is Plaza's Go client: what a bot, a load generator or a Go
// game service needs to be a player. It signs in at the control plane, asks
// it for a seat in a world, dials the relay it names with the ticket it
// hands out, and then sends movement, chat, emotes, room state changes and
// keep-alives while the relay's frames arrive, decoded, on a Handler.
//
// The join path (docs/protocol.md):
//
//	ctl := client.NewControl("http://127.0.0.1:18080", "lobby")
//	s, timing, err := ctl.JoinWorld(ctx, client.Guest{DeviceID: ctl.DeviceID("ada"), Name: "Ada"},
//		client.DialOptions{Handler: h})
//	if err != nil {
//		var je *client.JoinError // a countable kind: "signin_http_429", "close_4102_...", ...
//		...
//	}
//	defer s.Close()
//	pose := walker.At(time.Since(start).Seconds())
//	err = s.Move(&pose, time.Now().UnixMilli())
//	err = s.Chat("hi all!", 1)
//
// Reconnecting (docs/protocol.md §8), the one rule: when a session ends
// (Handler.Closed) with a close code that is not Terminal — or with no
// close code at all (a dropped connection) — wait Backoff(n, hint, nil)
// before join attempt n (0-based, reset after a Welcome): with a server
// hint, hint + uniform(0, 250 ms); without one, uniform(0, min(10 s,
// 250 ms · 2^n)). The hint is the DisconnectNotice's RetryAfter
// (NoticeHandler) or a 409/429/503's body retry_after_ms, else its
// Retry-After (JoinError.RetryAfter, RetryAfter). Then join again through the control plane with
// JoinRoom, naming the notice's RoomID (or the room you were in) and
// ResumeSessionID = Session.SessionID(). Terminal codes (1000, 1002, 1009,
// every 41xx: kicked, banned, abuse, ...) mean do not reconnect.
// Control's own retries (409/429/503, transport errors) and JoinWorld's
// retries after a 40xx Hello refusal follow the same rule.
//
// A caller that already holds a relay URL and a ticket (from its own call
// to Control.Join, or a test key) calls Dial directly.
//
// Concurrency: every Session method may be called from any goroutine; the
// Handler of a session is called from that session's one read goroutine,
// in frame order, and must not block. A Control is safe for concurrent use
// by any number of players.
//
// Zero values: DialOptions{} dials from any address, ignores every event
// and waits 10 s for the Welcome; NopHandler ignores everything and is
// meant to be embedded. Errors wrap a *JoinError when the failure has a
// kind worth counting.
//
// The package holds one goroutine per session (the WebSocket library's read
// loop, github.com/lxzan/gws) and allocates nothing per received movement
// update, so one process can hold tens of thousands of sessions; that is
// what relay-go/bench's load generator does with it.
package client
