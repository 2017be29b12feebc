// Command benchrun is `make bench` (scripts/bench.sh runs it): every
// workload of docs/benchmarks-workloads.md against Plaza's relay and the
// Centrifugo peer, then the "Relay vs Centrifugo" section of
// docs/benchmarks.md and docs/img/bench-*.png. See package benchrun.
//
// Knobs are environment variables (PLAZA_BENCH_*; `benchrun -h` lists
// them). SIGINT or SIGTERM stops the run and every process it started.
// Exit status: 0 when the run finished (failed workloads are reported in
// the results, or make it 1 with PLAZA_BENCH_STRICT=1), 1 when it could
// not run, 2 for bad knobs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/plaza-dev/plaza/relay-go/bench/benchrun"
)

const knobs = `Knobs (environment):
  PLAZA_BENCH_ONLY="w1 w2"      run a subset (default: w1 w2 w3 w4)
  PLAZA_BENCH_W1_DURATION=60s   W1 window
  PLAZA_BENCH_W4_DURATION=30s   W4 window
  PLAZA_BENCH_TICK=10           relay tick rate (Hz), = the 10 Hz movement rate; the latency target is one tick + 10 ms
  PLAZA_BENCH_W1_TICK20=1       also run W1 on Plaza at the relay's default 20 Hz tick (w1-plaza-tick20)
  PLAZA_BENCH_INTEREST=50       interest radius (m) for W4 "interest on"
  PLAZA_BENCH_W3_CLIENTS=5000   W3 clients (multiple of 50)
  PLAZA_BENCH_CONTROL_URL=...   W3: a running control plane (+ relays it assigns to), e.g. from ` + "`make run`" + `
  PLAZA_BENCH_W3_WORLD=bench    W3 with PLAZA_BENCH_CONTROL_URL: the world to join
  PLAZA_BENCH_NOTE="..."        a note printed with the results (e.g. "shared machine")
  PLAZA_BENCH_PPROF=1           profile the relay for 20 s during W1 (default 1)
  PLAZA_BENCH_NO_DOCS=1         keep results (and the report) in .data/bench only
  PLAZA_BENCH_PEER=0            Plaza only, no Centrifugo runs (a quick check
                                while working on the relay; implies NO_DOCS)
  PLAZA_BENCH_STRICT=1          exit 1 when a workload failed or was skipped
  PLAZA_BENCH_BUDGET=1200       seconds after which no workload starts
  PLAZA_BENCH_HARD_LIMIT=1680   seconds by which the whole run ends
  PLAZA_BENCH_W1_ROOMS, PLAZA_BENCH_W1_MEMBERS   a smaller W1 (the make test smoke)
  PLAZA_BENCH_RELAY_PORT, PLAZA_BENCH_ADMIN_PORT, PLAZA_CENTRIFUGO_PORT   server ports (0: a free one)
  PLAZA_BENCH_W3_REDIS_PORT=16579, PLAZA_BENCH_W3_MONGO_PORT=27517, PLAZA_BENCH_W3_CONTROL_PORT=18090
`

func main() {
	root := flag.String("root", "", "repository root (default: found from the working directory with git)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: benchrun [--root DIR]\n\n%s", knobs)
	}
	flag.Parse()
	os.Exit(run(*root))
}

func run(root string) int {
	if root == "" {
		out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchrun: not in a git checkout; give --root")
			return 2
		}
		root = strings.TrimSpace(string(out))
	}
	root, _ = filepath.Abs(root)
	cfg, err := benchrun.FromEnv(root, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchrun: bad knobs:\n%v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := benchrun.New(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		return 1
	}
	if err := r.Run(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "benchrun: interrupted; every process it started is stopped")
		} else {
			fmt.Fprintln(os.Stderr, "benchrun:", err)
		}
		return 1
	}
	if skipped := r.Skipped(); cfg.Strict && len(skipped) > 0 {
		keys := make([]string, 0, len(skipped))
		for k := range skipped {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(os.Stderr, "benchrun: %s: %s\n", k, skipped[k])
		}
		return 1
	}
	return 0
}
