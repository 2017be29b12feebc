package benchrun

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plaza-dev/plaza/relay-go/bench/loadgen"
	"github.com/plaza-dev/plaza/relay-go/bench/report"
)

// relayID is the id the bench relay runs with (ticket audience).
const relayID = "bench-relay"

// Runner is one bench run: New prepares it, Run does it.
type Runner struct {
	cfg    Config
	log    io.Writer
	procs  *procs
	start  time.Time
	runDir string
	bin    string

	server    *proc    // the server under test right now, or nil
	relayKeys []string // --jwks-file or --jwks-url flags for the relay
	peerArgs  []string // loadgen flags for Centrifugo
	plazaArgs []string // loadgen flags for the relay-only mode

	mu          sync.Mutex
	skipped     map[string]string // workload -> why it has no (complete) result
	w3Heartbeat string
	commit      string
	loadBefore  string
}

// New checks cfg and makes the run directory (DataDir/bench/<UTC time>).
// log receives progress lines; the load generator's summaries go to
// os.Stdout as well as to the run directory.
func New(cfg Config, log io.Writer) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(cfg.Root, ".data")
	}
	r := &Runner{cfg: cfg, log: log, procs: newProcs(), start: time.Now(), skipped: map[string]string{}}
	r.runDir = filepath.Join(cfg.DataDir, "bench", r.start.UTC().Format("20060102T150405Z"))
	r.bin = filepath.Join(r.runDir, "bin")
	if err := os.MkdirAll(r.bin, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	for _, p := range []*int{&r.cfg.RelayPort, &r.cfg.AdminPort, &r.cfg.PeerPort} {
		if *p == 0 {
			port, err := freePort()
			if err != nil {
				return nil, fmt.Errorf("bench: free port: %w", err)
			}
			*p = port
		}
	}
	return r, nil
}

// Dir is the run directory (results, logs, binaries).
func (r *Runner) Dir() string { return r.runDir }

func (r *Runner) logf(format string, a ...any) {
	fmt.Fprintf(r.log, "\033[1;34m[plaza]\033[0m "+format+"\n", a...)
}

func (r *Runner) elapsed() time.Duration { return time.Since(r.start) }

func (r *Runner) skip(workload, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skipped[workload] = why
}

// Skipped returns why each workload has no complete result.
func (r *Runner) Skipped() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.skipped))
	for k, v := range r.skipped {
		out[k] = v
	}
	return out
}

// Run does the whole run: build, every wanted workload, meta.json and the
// report. The whole of it is bounded by HardLimit; every child is stopped
// before it returns. It fails only when the run cannot be done at all
// (the relay does not build, a port is taken, ctx ended); a failed
// workload is recorded in Skipped and in the report.
func (r *Runner) Run(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, r.cfg.HardLimit)
	defer cancel()
	defer r.procs.stopAll(10 * time.Second)
	r.logf("bench run directory: %s", r.runDir)
	if err := r.setup(ctx); err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{{"w1", r.w1}, {"w2", r.w2}, {"w3", r.w3}, {"w4", r.w4}}
	for _, s := range steps {
		if !r.cfg.wants(s.name) || !r.budgetLeft(s.name) {
			continue
		}
		if err := s.run(ctx); err != nil && (parent.Err() != nil || !errors.Is(err, context.DeadlineExceeded)) {
			return err
		}
		if ctx.Err() != nil {
			r.mu.Lock()
			if _, ok := r.skipped[s.name]; !ok {
				r.skipped[s.name] = fmt.Sprintf("the %.0fs limit of the whole run was reached during it", r.cfg.HardLimit.Seconds())
			}
			r.mu.Unlock()
			break
		}
	}
	if err := parent.Err(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	// At the hard limit, what was measured is still reported.
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	if err := r.writeMeta(rctx); err != nil {
		return err
	}
	md, img := filepath.Join(r.cfg.Root, "docs", "benchmarks.md"), filepath.Join(r.cfg.Root, "docs", "img")
	if r.cfg.NoDocs {
		md, img = filepath.Join(r.runDir, "benchmarks.md"), filepath.Join(r.runDir, "img")
	}
	if err := report.Write(r.runDir, md, img); err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	if r.cfg.NoDocs {
		r.logf("results and report in %s (docs untouched)", r.runDir)
	} else {
		r.logf("wrote docs/benchmarks.md (section %q) and docs/img/bench-*.png; raw results in %s", report.SectionHeading, r.runDir)
	}
	r.logf("bench finished in %.0fs", r.elapsed().Seconds())
	return nil
}

// budgetLeft is false (and records why) once Budget is spent.
func (r *Runner) budgetLeft(w string) bool {
	if r.elapsed() > r.cfg.Budget {
		r.logf("time budget (%s) spent: skipping %s", r.cfg.Budget, w)
		r.skip(w, fmt.Sprintf("time budget of %.0fs spent before it could start", r.cfg.Budget.Seconds()))
		return false
	}
	return true
}

// goCmd runs one go command (build, version) to completion in dir.
func (r *Runner) goCmd(ctx context.Context, dir string, limit time.Duration, args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd := command("go", args, dir, nil, &out, &out)
	err := r.procs.run(ctx, "go "+args[0], cmd, limit)
	if err != nil {
		return out.Bytes(), fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	return out.Bytes(), nil
}

func (r *Runner) setup(ctx context.Context) error {
	// The commit the binaries are built from (other work may land during the run).
	head, err := exec.CommandContext(ctx, "git", "-C", r.cfg.Root, "rev-parse", "HEAD").Output()
	if err != nil {
		return fmt.Errorf("bench: git rev-parse: %w", err)
	}
	r.commit = strings.TrimSpace(string(head))
	if exec.CommandContext(ctx, "git", "-C", r.cfg.Root, "diff", "--quiet", "HEAD", "--", "relay-go", "go.mod", "go.sum").Run() != nil {
		r.commit += " + uncommitted changes in relay-go"
	}
	if _, err := r.goCmd(ctx, r.cfg.Root, 5*time.Minute, "build", "-o", filepath.Join(r.bin, "relay"), "./relay-go/cmd/relay"); err != nil {
		return fmt.Errorf("the relay does not build (relay-go/cmd/relay): %w", err)
	}
	if _, err := r.goCmd(ctx, filepath.Join(r.cfg.Root, "relay-go", "bench"), 5*time.Minute, "build", "-o", filepath.Join(r.bin, "loadgen"), "./cmd/loadgen"); err != nil {
		return fmt.Errorf("the load generator does not build: %w", err)
	}
	if r.cfg.Peer {
		cmd := command(filepath.Join(r.cfg.Root, "scripts", "install_centrifugo.sh"), nil, r.cfg.Root, nil, r.log, r.log)
		if err := r.procs.run(ctx, "install_centrifugo.sh", cmd, 10*time.Minute); err != nil {
			return fmt.Errorf("bench: install Centrifugo: %w", err)
		}
	}
	keys := filepath.Join(r.runDir, "keys")
	var out bytes.Buffer
	if err := r.procs.run(ctx, "loadgen keygen", command(filepath.Join(r.bin, "loadgen"), []string{"keygen", "--dir", keys}, r.runDir, nil, &out, &out), time.Minute); err != nil {
		return fmt.Errorf("bench: loadgen keygen: %w\n%s", err, out.Bytes())
	}
	r.relayKeys = []string{"--jwks-file", filepath.Join(keys, "jwks.json")}
	r.plazaArgs = []string{"--target", "plaza", "--url", fmt.Sprintf("ws://127.0.0.1:%d/ws", r.cfg.RelayPort), "--key-dir", keys, "--relay-id", relayID}
	secret := "bench-" + randomHex(16)
	if err := r.writeCentrifugoConfig(secret); err != nil {
		return err
	}
	r.peerArgs = []string{"--target", "centrifugo", "--url", fmt.Sprintf("ws://127.0.0.1:%d/connection/websocket", r.cfg.PeerPort), "--centrifugo-secret", secret}
	r.loadBefore = loadgen.LoadAvg()
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *Runner) writeCentrifugoConfig(secret string) error {
	conf := map[string]any{
		"client": map[string]any{
			"token":           map[string]any{"hmac_secret_key": secret},
			"allowed_origins": []string{"http://127.0.0.1"},
		},
		"channel": map[string]any{
			"without_namespace": map[string]any{"allow_subscribe_for_client": true, "allow_publish_for_subscriber": true},
		},
		"http_server": map[string]any{"address": "127.0.0.1", "port": r.cfg.PeerPort,
			"internal_address": "127.0.0.1", "internal_port": strconv.Itoa(r.cfg.PeerPort + 1)},
		"http_api": map[string]any{"key": "bench-" + randomHex(8)},
		"log":      map[string]any{"level": "warn"},
		"debug":    map[string]any{"enabled": true},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.runDir, "centrifugo.json"), append(b, '\n'), 0o600)
}

// startRelay starts the relay under test as r.server, with the bench's
// standard flags followed by extra (a later flag wins).
func (r *Runner) startRelay(ctx context.Context, name string, extra ...string) error {
	if !portFree(r.cfg.RelayPort) {
		return fmt.Errorf("port %d is taken (is `make run` running? stop it first)", r.cfg.RelayPort)
	}
	args := append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", r.cfg.RelayPort), "--admin-listen", fmt.Sprintf("127.0.0.1:%d", r.cfg.AdminPort),
		"--relay-id", relayID}, r.relayKeys...)
	args = append(args, "--tick-rate", strconv.Itoa(r.cfg.TickHz), "--room-capacity", "1000", "--max-connections", "50000", "--log-level", "warn")
	args = append(args, extra...)
	return r.startServer(ctx, "relay-"+name, filepath.Join(r.bin, "relay"), args, r.cfg.RelayPort)
}

func (r *Runner) startCentrifugo(ctx context.Context, name string) error {
	if !portFree(r.cfg.PeerPort) {
		return fmt.Errorf("port %d is taken", r.cfg.PeerPort)
	}
	bin := filepath.Join(r.cfg.Root, ".tools", "bin", "centrifugo")
	return r.startServer(ctx, "centrifugo-"+name, bin, []string{"--config", filepath.Join(r.runDir, "centrifugo.json")}, r.cfg.PeerPort)
}

// startServer starts a server logging into the run directory and waits
// (20 s at most) until it listens on port.
func (r *Runner) startServer(ctx context.Context, logName, bin string, args []string, port int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	logPath := filepath.Join(r.runDir, logName+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer f.Close() // the child holds its own descriptor
	p, err := r.procs.start(logName, command(bin, args, r.runDir, nil, f, f))
	if err != nil {
		return err
	}
	r.server = p
	if err := waitPort(ctx, port, 20*time.Second, p); err != nil {
		fmt.Fprintf(r.log, "%s\n", tail(logPath, 20))
		r.stopServer()
		return fmt.Errorf("%s did not listen on %d: %w", logName, port, err)
	}
	return nil
}

// stopServer stops the server under test: SIGTERM, SIGKILL after 10 s.
func (r *Runner) stopServer() {
	if r.server != nil {
		r.server.stop(10 * time.Second)
		r.server = nil
	}
}

// loadgen runs one measured load run `loadgen run ... --json RUN/name.json`
// against r.server, for at most limit (less when the hard limit is near).
// A failed run is recorded as the workload's skip reason and returns false.
func (r *Runner) loadgen(ctx context.Context, name string, limit time.Duration, args ...string) bool {
	workload, _, _ := strings.Cut(name, "-")
	if ctx.Err() != nil {
		return false // interrupted: Run reports it
	}
	left := r.cfg.HardLimit - time.Minute - r.elapsed()
	if left < 30*time.Second {
		r.logf("no time left for %s", name)
		r.skip(workload, fmt.Sprintf("the %.0fs limit of the whole run was reached before %s", r.cfg.HardLimit.Seconds(), name))
		return false
	}
	limit = min(limit, left)
	r.logf("── %s (at most %.0fs)", name, limit.Seconds())
	pid := 0
	if r.server != nil {
		pid = r.server.pid()
	}
	jsonPath := filepath.Join(r.runDir, name+".json")
	full := append([]string{"run", "--server-pid", strconv.Itoa(pid), "--json", jsonPath}, args...)
	txt, err := os.Create(filepath.Join(r.runDir, name+".txt"))
	if err != nil {
		r.skip(workload, err.Error())
		return false
	}
	defer txt.Close()
	errPath := filepath.Join(r.runDir, name+".err")
	errFile, err := os.Create(errPath)
	if err != nil {
		r.skip(workload, err.Error())
		return false
	}
	defer errFile.Close()
	cmd := command(filepath.Join(r.bin, "loadgen"), full, r.runDir, nil, io.MultiWriter(os.Stdout, txt), errFile)
	if err := r.procs.run(ctx, "loadgen "+name, cmd, limit); err != nil {
		fmt.Fprintf(r.log, "%s\n", tail(errPath, 20))
		last := strings.TrimSpace(tail(errPath, 1))
		if errors.Is(err, errTimedOut) || last == "" {
			last = err.Error()
		}
		r.skip(workload, fmt.Sprintf("the %s run failed: %s", name, last))
		_ = os.Remove(jsonPath)
		return false
	}
	return true
}

// peer runs workload w against Centrifugo (unless Peer is off); it fails
// only when Centrifugo does not start.
func (r *Runner) peer(ctx context.Context, w string, limit time.Duration, args ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !r.cfg.Peer {
		r.logf("── %s-centrifugo skipped (PLAZA_BENCH_PEER=0)", w)
		return nil
	}
	if err := r.startCentrifugo(ctx, w); err != nil {
		return err
	}
	r.loadgen(ctx, w+"-centrifugo", limit, append(slices.Clone(r.peerArgs), args...)...)
	r.stopServer()
	return nil
}

// pprofTop writes the first lines of `go tool pprof -top` of profile.
func (r *Runner) pprofTop(ctx context.Context, profile, out string, lines int, flags ...string) {
	if st, err := os.Stat(profile); err != nil || st.Size() == 0 {
		return
	}
	args := append(append([]string{"tool", "pprof"}, flags...), filepath.Join(r.bin, "relay"), profile)
	var buf bytes.Buffer
	if err := r.procs.run(ctx, "go tool pprof", command("go", args, r.runDir, nil, &buf, io.Discard), 2*time.Minute); err != nil {
		r.logf("pprof %s: %v", filepath.Base(profile), err)
		return
	}
	_ = os.WriteFile(out, []byte(firstLines(buf.String(), lines)), 0o644)
}

// fetch GETs url into path (nothing is written unless the answer is 200).
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// tail returns the last n lines of a file ("" if unreadable).
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func firstLines(s string, n int) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	for i := 0; i < n && sc.Scan(); i++ {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// writeMeta writes meta.json: the machine, the commit, the knobs, and why
// workloads are missing.
func (r *Runner) writeMeta(ctx context.Context) error {
	goVersion, _ := exec.CommandContext(ctx, "go", "version").Output()
	centrifugo := ""
	if out, err := exec.CommandContext(ctx, filepath.Join(r.cfg.Root, ".tools", "bin", "centrifugo"), "version").Output(); err == nil {
		centrifugo = firstLines(string(out), 1)
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	m := report.Meta{
		Date:              time.Now().UTC().Format("2006-01-02T15:04Z"),
		Commit:            r.commit,
		Nproc:             strconv.Itoa(runtime.NumCPU()),
		Kernel:            strings.TrimSpace(string(kernel)),
		GoVersion:         strings.TrimSpace(string(goVersion)),
		CPUModel:          cpuModel(),
		LoadBefore:        r.loadBefore,
		TickHz:            float64(r.cfg.TickHz),
		CentrifugoVersion: strings.TrimSpace(centrifugo),
		W3Heartbeat:       r.w3Heartbeat,
		RelayFlags:        fmt.Sprintf("--tick-rate %d --room-capacity 1000 --max-connections 50000 --log-level warn (W4 interest on: --interest-radius %g)", r.cfg.TickHz, r.cfg.Interest),
		Skipped:           r.Skipped(),
		Notes:             []string{},
	}
	if r.cfg.Note != "" {
		m.Notes = append(m.Notes, r.cfg.Note)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.runDir, "meta.json"), append(b, '\n'), 0o644)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
