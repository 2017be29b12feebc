// Command w3r is the load-generator half of W3r, the rejoin storm
// (docs/benchmarks.md, "W3r (Go load generator)"; scripts/bench_w3r.py
// starts the system, kills the relay and calls it).
//
//	w3r drive --control URL[,URL] --players 5000 --rounds 3 --out results.json
//	    seats the players; then per round prints {"ready":true,"round":k,...}
//	    on stdout, waits for a line on stdin (sent at the relay's kill), runs
//	    the storm and prints {"round":k,"result":{...}}; writes the list of
//	    results and exits 0 (1 if a player was not back by --deadline, 2 on
//	    an error such as a failed seating).
//	w3r plot --result result.json --out storm.png --title "..."
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/plaza-dev/plaza/relay-go/bench/w3r"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	code := 0
	switch os.Args[1] {
	case "drive":
		code, err = drive(ctx, os.Args[2:])
	case "plot":
		err = plotCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "w3r:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: w3r drive [flags] | w3r plot --result FILE --out PNG [--title T] (w3r drive -h lists the flags)")
	os.Exit(2)
}

func drive(ctx context.Context, args []string) (int, error) {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	var c w3r.Config
	controls := fs.String("control", "", "control plane base URLs, comma-separated (player i uses the (i mod n)-th)")
	fs.StringVar(&c.World, "world", "lobby", "world to join")
	fs.IntVar(&c.Players, "players", 5000, "players seated, then rejoining")
	fs.IntVar(&c.SeatConcurrency, "seat-concurrency", 64, "join paths in flight while seating")
	fs.IntVar(&c.SourceAddrs, "source-addrs", 4, "connections come from 127.0.0.1 .. 127.0.0.N")
	fs.StringVar(&c.StateKey, "state-key", "w3r", "state key the first member of each room sets")
	fs.DurationVar(&c.Deadline, "deadline", 60*time.Second, "players not back this long after the kill count as lost")
	fs.DurationVar(&c.Bucket, "bucket", 100*time.Millisecond, "timeline resolution")
	fs.DurationVar(&c.Settle, "settle", time.Second, "wait after the state writes, before READY")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed of the players' jitter")
	fs.IntVar(&c.Rounds, "rounds", 1, "storms on the same seated players (READY, kill line, result line, each round)")
	out := fs.String("out", "", "write the result JSON here (required)")
	_ = fs.Parse(args)
	if *out == "" {
		return 0, fmt.Errorf("--out is required")
	}
	for _, u := range strings.Split(*controls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.ControlURLs = append(c.ControlURLs, u)
		}
	}
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	res, err := w3r.Run(ctx, c, os.Stdin, os.Stdout, logf)
	if len(res) > 0 {
		b, merr := json.MarshalIndent(res, "", "  ")
		if merr != nil {
			return 0, merr
		}
		if werr := os.WriteFile(*out, append(b, '\n'), 0o644); werr != nil {
			return 0, werr
		}
	}
	if err != nil {
		return 0, err
	}
	for _, r := range res {
		if r.Back < r.Players {
			return 1, nil
		}
	}
	return 0, nil
}

func plotCmd(args []string) error {
	fs := flag.NewFlagSet("plot", flag.ExitOnError)
	result := fs.String("result", "", "a result JSON of w3r drive")
	out := fs.String("out", "", "PNG to write")
	title := fs.String("title", "W3r rejoin storm", "chart title")
	_ = fs.Parse(args)
	if *result == "" || *out == "" {
		return fmt.Errorf("--result and --out are required")
	}
	return w3r.Plot(*result, *out, *title)
}
