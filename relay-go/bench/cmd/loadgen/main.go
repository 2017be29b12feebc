// Command loadgen drives Plaza relays (and the Centrifugo peer) with
// simulated players and measures what they deliver. See
// docs/benchmarks-workloads.md.
//
//	loadgen keygen --dir DIR        Ed25519 ticket key: DIR/ticket.seed + DIR/jwks.json (give the relay --jwks-file DIR/jwks.json)
//	loadgen run --workload w1 ...   coordinator: forks workers, prints a summary, writes JSON
//	loadgen report --dir RUN        docs/benchmarks.md "Relay vs Centrifugo" section + docs/img PNGs from a bench run
//	loadgen worker                  one worker process (started by run; reads its plan on stdin)
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/plaza-dev/plaza/relay-go/bench/centrifugoadapter"
	"github.com/plaza-dev/plaza/relay-go/bench/loadgen"
	"github.com/plaza-dev/plaza/relay-go/bench/report"
	"github.com/plaza-dev/plaza/relay-go/client"
)

func main() {
	centrifugoadapter.Register()
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "keygen":
		err = keygen(os.Args[2:])
	case "run":
		err = run(ctx, os.Args[2:])
	case "report":
		err = writeReport(os.Args[2:])
	case "worker":
		// PLAZA_LOADGEN_CPUPROFILE=DIR writes one CPU profile per worker
		// (diagnostics of the load generator itself).
		if dir := os.Getenv("PLAZA_LOADGEN_CPUPROFILE"); dir != "" {
			f, perr := os.Create(filepath.Join(dir, fmt.Sprintf("loadgen-worker-%d.pprof", os.Getpid())))
			if perr == nil && pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
		err = loadgen.RunWorker(ctx, os.Stdin, os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen keygen|run|report|worker [flags]  (loadgen run -h for run flags)")
	os.Exit(2)
}

const seedFile, jwksFile = "ticket.seed", "jwks.json"

func keygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ExitOnError)
	dir := fs.String("dir", "", "directory for ticket.seed (private, 0600) and jwks.json")
	kid := fs.String("kid", "loadgen-1", "key id")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("keygen: --dir is required")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	seed, err := loadgen.NewSeed()
	if err != nil {
		return err
	}
	m, err := loadgen.NewMinter(seed, *kid, "", "")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, seedFile), []byte(*kid+" "+hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
		return err
	}
	return m.WriteJWKS(filepath.Join(*dir, jwksFile))
}

func readSeed(dir string) (kid string, seed []byte, err error) {
	b, err := os.ReadFile(filepath.Join(dir, seedFile))
	if err != nil {
		return "", nil, fmt.Errorf("ticket key: %w (run loadgen keygen --dir %s first)", err, dir)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return "", nil, fmt.Errorf("ticket key %s: want \"<kid> <hex seed>\"", dir)
	}
	seed, err = hex.DecodeString(f[1])
	return f[0], seed, err
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	target := fs.String("target", "plaza", "server under test: plaza | centrifugo")
	preset := fs.String("workload", "w1", "named workload: w1 | w2 | w3 | w4 | smoke")
	url := fs.String("url", "ws://127.0.0.1:18100/ws", "server WebSocket URL (plaza relay-only mode and centrifugo)")
	rooms := fs.Int("rooms", 0, "override: rooms")
	perRoom := fs.Int("members-per-room", 0, "override: members per room")
	moveHz := fs.Float64("move-hz", -1, "override: Move frames per second per member")
	chatRate := fs.Float64("chat-rate", -1, "override: chat lines per second per member")
	duration := fs.Duration("duration", 0, "override: measured window")
	settle := fs.Duration("settle", 0, "override: idle time after all joined, before the window")
	area := fs.Float64("area", 0, "override: side of the square avatars walk in (m)")
	label := fs.String("label", "", "suffix for the workload name in reports (e.g. im-on)")
	interest := fs.Float64("interest-radius", 0, "informational: interest radius the server runs with")
	keyDir := fs.String("key-dir", "", "plaza relay-only: directory made by loadgen keygen")
	relayID := fs.String("relay-id", "relay-0", "plaza relay-only: the relay id (ticket aud)")
	worldID := fs.String("world-id", "bench", "plaza relay-only: world id in tickets")
	roomPrefix := fs.String("room-prefix", "bench-r", "room ids are prefix + index (plaza) / channel names (centrifugo)")
	controlURL := fs.String("control-url", "", "plaza control-plane mode: control plane base URL (W3)")
	controlWorld := fs.String("control-world", "bench", "plaza control-plane mode: world to join")
	signinPath := fs.String("control-signin-path", "", "control plane sign-in path (default /v1/auth/guest)")
	joinPath := fs.String("control-join-path", "", "control plane join path (default /v1/join)")
	secret := fs.String("centrifugo-secret", "", "centrifugo: HMAC secret for connection tokens")
	procs := fs.Int("procs", 0, "worker processes (0 = auto, at least 2)")
	srcAddrs := fs.Int("source-addrs", 4, "spread connections over source addresses 127.0.0.1..127.0.0.N")
	conc := fs.Int("connect-concurrency", 64, "joins in flight per worker")
	rate := fs.Float64("connect-rate", 0, "joins started per second per worker (0 = as fast as allowed)")
	joinTimeout := fs.Duration("join-timeout", 3*time.Minute, "longest the whole join phase may take; members not joined by then count as failed")
	serverPID := fs.Int("server-pid", 0, "server process to sample CPU and RSS from (/proc)")
	heapOut := fs.String("server-heap-out", "", "with --server-gc-url: save the last response (a heap profile) here")
	serverGC := fs.String("server-gc-url", "", "URL that makes the server collect garbage (pprof heap ?gc=1); RSS is then also read after GC")
	jsonOut := fs.String("json", "", "write the report JSON here")
	seed := fs.Uint64("seed", 1, "random seed for paths and phases")
	_ = fs.Parse(args)

	wl, ok := loadgen.Presets[*preset]
	if !ok {
		return fmt.Errorf("unknown workload %q", *preset)
	}
	if *rooms > 0 {
		wl.Rooms = *rooms
	}
	if *perRoom > 0 {
		wl.MembersPerRoom = *perRoom
	}
	if *moveHz >= 0 {
		wl.MoveHz = *moveHz
	}
	if *chatRate >= 0 {
		wl.ChatPerSec = *chatRate
	}
	if *duration > 0 {
		wl.DurationMs = duration.Milliseconds()
	}
	if *settle > 0 {
		wl.SettleMs = settle.Milliseconds()
	}
	if *area > 0 {
		wl.Area = *area
	}
	if *label != "" {
		wl.Name += "-" + *label
	}
	wl.InterestRadius = *interest

	plan := loadgen.Plan{
		Target: *target, URL: *url, Work: wl,
		RelayID: *relayID, WorldID: *worldID, RoomPrefix: *roomPrefix,
		CentrifugoSecret: *secret,
		SourceAddrs:      *srcAddrs, ConnectConcurrency: *conc, ConnectRate: *rate, Seed: *seed,
		JoinTimeoutMs: joinTimeout.Milliseconds(),
	}
	switch {
	case *target != "plaza":
	case wl.ControlPlane || *controlURL != "":
		if *controlURL == "" {
			return fmt.Errorf("workload %s joins through the control plane: give --control-url (e.g. http://127.0.0.1:18080)", wl.Name)
		}
		cc := client.NewControl(*controlURL, *controlWorld)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := cc.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("workload %s needs the control plane: %w", wl.Name, err)
		}
		plan.ControlURL, plan.ControlWorld = *controlURL, *controlWorld
		plan.ControlSignInPath, plan.ControlJoinPath = *signinPath, *joinPath
	default:
		if *keyDir == "" {
			return fmt.Errorf("plaza relay-only mode needs --key-dir (loadgen keygen --dir DIR, relay --jwks-file DIR/jwks.json)")
		}
		kid, s, err := readSeed(*keyDir)
		if err != nil {
			return err
		}
		plan.TicketKid, plan.TicketSeed = kid, s
	}
	rep, err := loadgen.Run(ctx, loadgen.RunConfig{Plan: plan, Procs: *procs, ServerPID: *serverPID, ServerGCURL: *serverGC, ServerHeapOut: *heapOut, Log: os.Stderr})
	if err != nil {
		return err
	}
	loadgen.PrintSummary(os.Stdout, rep)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", "", "bench run directory (meta.json and <workload>-<target>.json files)")
	md := fs.String("md", "docs/benchmarks.md", "markdown file whose \""+report.SectionHeading+"\" section is (re)written")
	img := fs.String("img", "docs/img", "directory for the PNG plots")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("report: --dir is required")
	}
	return report.Write(*dir, *md, *img)
}
