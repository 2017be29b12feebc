// Command demobots fills a local Plaza with a few players for `make run`:
// each bot signs in as a guest through the control plane, joins a world,
// walks a smooth path, chats now and then, and — like a real client — rejoins
// through the control plane with backoff and jitter whenever its relay closes
// the connection (drain, failure, kick). It runs until SIGINT/SIGTERM.
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
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
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

// botSink counts what a bot receives and signals when its session ends.
type botSink struct {
	client.NopHandler
	moves, chats atomic.Int64
	closed       chan string
}

func (s *botSink) Movement(int64, uint32, uint32) { s.moves.Add(1) }
func (s *botSink) Chat(int64, []byte, uint64)     { s.chats.Add(1) }
func (s *botSink) Closed(kind string)             { s.closed <- kind }

func backoff(attempt int, rng *rand.Rand) time.Duration {
	// Exponential from 500 ms, capped at 15 s, full jitter (docs/protocol.md).
	ceiling := min(15*time.Second, 500*time.Millisecond<<min(attempt, 5))
	return time.Duration(rng.Int64N(int64(ceiling))) + 100*time.Millisecond
}

func runBot(ctx context.Context, log *slog.Logger, ctl *client.Control, c *config, i int) {
	rng := rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano())))
	m := client.Guest{DeviceID: ctl.DeviceID(fmt.Sprintf("bot%d", i)), Name: fmt.Sprintf("%s bot", names[i%len(names)])}
	walker := client.NewWalker(rng, c.area)
	start := time.Now()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		sink := &botSink{closed: make(chan string, 1)}
		session, timing, err := ctl.JoinWorld(ctx, m, client.DialOptions{Handler: sink})
		if err != nil {
			wait := backoff(attempt, rng)
			log.Warn("join failed; retrying", "bot", m.Name, "err", err, "retry_in", wait.String())
			sleep(ctx, wait)
			continue
		}
		attempt = 0
		log.Info("bot joined", "bot", m.Name, "join_ms", timing.Join.Milliseconds())
		kind := play(ctx, session, sink, &walker, c, rng, start)
		_ = session.Close()
		if ctx.Err() != nil {
			return
		}
		wait := backoff(1, rng)
		log.Info("bot disconnected; rejoining", "bot", m.Name, "reason", kind, "moves_seen", sink.moves.Load(), "chats_seen", sink.chats.Load(), "retry_in", wait.String())
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
