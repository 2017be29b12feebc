// Command soak is the traffic and plotting half of the soak
// (docs/benchmarks.md, "Soak"; scripts/soak.py starts the cluster, samples
// resources and calls it).
//
//	soak drive --control URL[,URL] --world W --duration 8m --out result.json
//	soak plot --spec plots.json --dir docs/img
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

	"github.com/plaza-dev/plaza/relay-go/bench/soak"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "drive":
		err = drive(ctx, os.Args[2:])
	case "plot":
		err = plotCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: soak drive [flags] | soak plot --spec FILE --dir DIR (soak drive -h lists the flags)")
	os.Exit(2)
}

func drive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	var c soak.Config
	controls := fs.String("control", "", "control plane base URLs, comma-separated (guest g uses the g-th mod n)")
	fs.StringVar(&c.World, "world", "lobby", "world to join")
	fs.DurationVar(&c.Duration, "duration", 30*time.Minute, "churn runs this long, then the final check")
	fs.IntVar(&c.Slots, "rooms", 10, "rooms open at any time")
	fs.IntVar(&c.MembersPerRoom, "members-per-room", 20, "members each room keeps")
	fs.DurationVar(&c.RoomLife, "room-life", 90*time.Second, "a room closes after this x [0.75, 1.25] and a new one opens")
	fs.DurationVar(&c.StayMin, "stay-min", 15*time.Second, "shortest stay of a member")
	fs.DurationVar(&c.StayMax, "stay-max", 60*time.Second, "longest stay of a member")
	fs.Float64Var(&c.MoveHz, "move-hz", 10, "moves per second per member")
	fs.Float64Var(&c.ChatPerSec, "chat-rate", 0.2, "chat lines per second per member")
	fs.DurationVar(&c.StateEvery, "state-every", 10*time.Second, "each member sets its room state key this often")
	fs.IntVar(&c.JoinsInFlight, "joins-in-flight", 16, "concurrent join paths")
	fs.DurationVar(&c.Progress, "progress", 5*time.Second, "progress line interval (JSON lines on stdout)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed")
	out := fs.String("out", "", "write the result JSON here (required)")
	_ = fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	for _, u := range strings.Split(*controls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.ControlURLs = append(c.ControlURLs, u)
		}
	}
	res, err := soak.Run(ctx, c, os.Stdout)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(*out, append(b, '\n'), 0o644)
}

func plotCmd(args []string) error {
	fs := flag.NewFlagSet("plot", flag.ExitOnError)
	spec := fs.String("spec", "", "charts JSON (scripts/soak.py writes it)")
	dir := fs.String("dir", "", "output directory for the PNGs")
	_ = fs.Parse(args)
	if *spec == "" || *dir == "" {
		return fmt.Errorf("--spec and --dir are required")
	}
	return soak.PlotFile(*spec, *dir)
}
