// Command demobots fills a local Plaza with a few players for `make run`:
// each bot signs in as a guest through the control plane, joins a world,
// walks a smooth path, chats now and then, and — like a real client —
// follows the reconnect rule of docs/protocol.md §8 (client.Backoff): after
// a drain or failure it rejoins the same room through the control plane
// (the DisconnectNotice's room, waiting its retry_after_ms), so a drained
// relay's room visibly moves to another relay; after a terminal close
// (kicked 4107, banned 4108, abuse 4106, any 41xx) or a 403 at sign-in or
// join (banned) that bot stops for good. It runs until SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
	"github.com/plaza-dev/plaza/relay-go/internal/ecslog"
)

type config struct {
	controlURL string
	world      string
	bots       int
	moveHz     float64
	chatEvery  time.Duration
	area       float64
}

func main() {
	var c config
	flag.StringVar(&c.controlURL, "control-url", "http://127.0.0.1:18080", "control plane base URL")
	flag.StringVar(&c.world, "world", "lobby", "world the bots join")
	flag.IntVar(&c.bots, "bots", 6, "number of bots")
	flag.Float64Var(&c.moveHz, "move-hz", 5, "Move frames per second per bot")
	flag.DurationVar(&c.chatEvery, "chat-every", 15*time.Second, "mean time between a bot's chat lines")
	flag.Float64Var(&c.area, "area", 40, "side of the square the bots walk in (m)")
	flag.Parse()
	log := ecslog.New(os.Stderr, nil, "plaza-demobots")
	if c.bots < 1 || c.moveHz <= 0 || c.chatEvery <= 0 {
		log.Error("invalid flags: need bots >= 1, move-hz > 0, chat-every > 0")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctl := client.NewControl(c.controlURL, c.world)
	var wg sync.WaitGroup
	for i := range c.bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runBot(ctx, log, ctl, &c, i)
		}()
	}
	wg.Wait()
	log.Info("demo bots stopped")
}

var names = []string{"Ada", "Bao", "Chidi", "Dana", "Emeka", "Freya", "Goro", "Hana", "Ines", "Jun", "Kofi", "Lena"}
var lines = []string{"hi all!", "nice plaza", "anyone up for a race?", "brb", "look at the fountain", "gg", "wave if you can read this"}

// botSink counts what a bot receives and signals when its session ends,
// with the DisconnectNotice that came before the close, if any.
type botSink struct {
	client.NopHandler
	moves, chats atomic.Int64
	notice       atomic.Pointer[client.Notice]
	closed       chan string
}

func (s *botSink) Movement(int64, uint32, uint32)   { s.moves.Add(1) }
func (s *botSink) Chat(int64, []byte, uint64)       { s.chats.Add(1) }
func (s *botSink) DisconnectNotice(n client.Notice) { s.notice.Store(&n) }
func (s *botSink) Closed(kind string)               { s.closed <- kind }

// next is what a bot does once its session ended or a join failed.
type next struct {
	stop bool          // terminal: this bot stops for good
	room string        // room to join next; "" = any room of the world
	hint time.Duration // the server's pacing, added by client.Backoff
	why  string        // for the log
}

// afterClose decides after a session in room ended with close kind
// (Handler.Closed) and notice (nil: none came): stop on a terminal code or
// a notice that says do not rejoin; otherwise rejoin the notice's room (else
// the same room) after its retry_after. A closed room (4007) ended its
// lifetime, so the bot lets the control plane pick a room.
func afterClose(kind string, notice *client.Notice, room string) next {
	code, hasCode := client.CloseCode(kind)
	if hasCode && client.Terminal(code) {
		return next{stop: true, why: "terminal close " + kind}
	}
	if notice != nil && !notice.Rejoin {
		return next{stop: true, why: "the relay said do not rejoin: " + notice.Reason}
	}
	n := next{room: room, why: kind}
	if notice != nil {
		n.hint = notice.RetryAfter
		if notice.RoomID != "" {
			n.room = notice.RoomID
		}
	}
	if hasCode && code == 4007 {
		n.room = ""
	}
	return n
}

// afterJoinError decides after a failed join for room: a 403 (banned) or a
// terminal Hello refusal stops the bot; a room that is gone, full or now
// elsewhere (404, 409, 4104) is forgotten, so the next join takes any room
// of the world; anything else is retried as it was.
func afterJoinError(err error, room string) next {
	var je *client.JoinError
	if !errors.As(err, &je) {
		return next{room: room, why: err.Error()}
	}
	hint := je.RetryAfter // the last 409/429/503's retry_after_ms (else Retry-After)
	switch {
	case je.Kind == "signin_http_403" || je.Kind == "join_http_403":
		return next{stop: true, why: je.Kind}
	case je.Kind == "join_http_404" || je.Kind == "join_http_409" || je.Kind == "join_http_400":
		return next{why: je.Kind, hint: hint}
	}
	if code, ok := client.CloseCode(je.Kind); ok {
		if code == 4104 {
			return next{why: je.Kind}
		}
		if client.Terminal(code) {
			return next{stop: true, why: je.Kind}
		}
	}
	return next{room: room, why: je.Kind, hint: hint}
}

func runBot(ctx context.Context, log *slog.Logger, ctl *client.Control, c *config, i int) {
	rng := rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano())))
	m := client.Guest{DeviceID: ctl.DeviceID(fmt.Sprintf("bot%d", i)), Name: fmt.Sprintf("%s bot", names[i%len(names)])}
	walker := client.NewWalker(rng, c.area)
	start := time.Now()
	var req client.JoinRequest
	attempt := 0 // reconnect attempts since the last Welcome
	for ctx.Err() == nil {
		sink := &botSink{closed: make(chan string, 1)}
		session, timing, err := ctl.JoinRoom(ctx, m, req, client.DialOptions{Handler: sink})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n := afterJoinError(err, req.RoomID)
			if n.stop {
				log.Warn("bot stopped: join refused for good", "bot", m.Name, "reason", n.why)
				return
			}
			req.RoomID = n.room
			wait := client.Backoff(attempt, n.hint, rng.Int64N)
			attempt++
			log.Warn("join failed; retrying", "bot", m.Name, "reason", n.why, "room", req.RoomID, "retry_in", wait.String())
			sleep(ctx, wait)
			continue
		}
		attempt = 0
		log.Info("bot joined", "bot", m.Name, "room", session.RoomID(), "relay_url", session.RelayURL(), "resumed", req.ResumeSessionID != "", "join_ms", timing.Join.Milliseconds())
		kind := play(ctx, session, sink, &walker, c, rng, start)
		_ = session.Close()
		if ctx.Err() != nil {
			return
		}
		n := afterClose(kind, sink.notice.Load(), session.RoomID())
		if n.stop {
			log.Warn("bot stopped: terminal close", "bot", m.Name, "reason", n.why)
			return
		}
		req = client.JoinRequest{RoomID: n.room, ResumeSessionID: session.SessionID()}
		wait := client.Backoff(attempt, n.hint, rng.Int64N)
		attempt++
		log.Info("bot disconnected; rejoining", "bot", m.Name, "reason", n.why, "room", n.room, "moves_seen", sink.moves.Load(), "chats_seen", sink.chats.Load(), "retry_in", wait.String())
		sleep(ctx, wait)
	}
}

// play walks and chats until ctx ends or the session closes; it returns why.
func play(ctx context.Context, s *client.Session, sink *botSink, w *client.Walker, c *config, rng *rand.Rand, start time.Time) string {
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.moveHz))
	defer tick.Stop()
	nextChat := time.Now().Add(time.Duration(rng.Int64N(int64(c.chatEvery))))
	var req uint32
	for {
		select {
		case <-ctx.Done():
			return "stopped"
		case kind := <-sink.closed:
			return kind
		case now := <-tick.C:
			pose := w.At(now.Sub(start).Seconds())
			if err := s.Move(&pose, now.UnixMilli()); err != nil {
				return "write_error"
			}
			if now.After(nextChat) {
				req++
				if err := s.Chat(lines[rng.IntN(len(lines))], req); err != nil && !errors.Is(err, context.Canceled) {
					return "write_error"
				}
				nextChat = now.Add(c.chatEvery/2 + time.Duration(rng.Int64N(int64(c.chatEvery))))
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
