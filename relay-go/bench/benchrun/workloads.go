package benchrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Each workload returns an error only when the run as a whole must stop:
// ctx ended, or a server under test does not start (its port is taken, it
// does not listen). A failed load run is recorded as the workload's skip
// reason and the run goes on.

func (r *Runner) w1(ctx context.Context) error {
	if err := r.startRelay(ctx, "w1"); err != nil {
		return err
	}
	args := []string{"--workload", "w1", "--duration", r.cfg.W1Duration.String()}
	if r.cfg.W1Rooms > 0 {
		args = append(args, "--rooms", strconv.Itoa(r.cfg.W1Rooms))
	}
	if r.cfg.W1MembersPerRoom > 0 {
		args = append(args, "--members-per-room", strconv.Itoa(r.cfg.W1MembersPerRoom))
	}
	profile := filepath.Join(r.runDir, "relay-w1.pprof")
	pctx, stopProfile := context.WithCancel(ctx)
	profiled := make(chan struct{})
	go func() {
		defer close(profiled)
		if !r.cfg.Pprof {
			return
		}
		// 20 s CPU profile from the middle of the window (loadgen settles ~2 s first).
		select {
		case <-time.After(15 * time.Second):
		case <-pctx.Done():
			return
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=20", r.cfg.AdminPort)
		if err := fetch(pctx, url, profile); err != nil && pctx.Err() == nil {
			r.logf("relay CPU profile: %v", err)
		}
	}()
	r.loadgen(ctx, "w1-plaza", 200*time.Second, append(slices.Clone(r.plazaArgs), args...)...)
	stopProfile()
	<-profiled
	r.stopServer()
	if r.cfg.W1Tick20 {
		if err := r.startRelay(ctx, "w1-tick20", "--tick-rate", "20"); err != nil {
			return err
		}
		r.loadgen(ctx, "w1-plaza-tick20", 200*time.Second, slices.Concat(r.plazaArgs, args, []string{"--label", "tick20"})...)
		r.stopServer()
	}
	r.pprofTop(ctx, profile, filepath.Join(r.runDir, "relay-w1-pprof.txt"), 40, "-top", "-nodecount=25")
	if err := r.peer(ctx, "w1", 200*time.Second, args...); err != nil {
		return err
	}
	return ctx.Err()
}

func (r *Runner) w2(ctx context.Context) error {
	if err := r.startRelay(ctx, "w2"); err != nil {
		return err
	}
	heap := filepath.Join(r.runDir, "relay-w2.heap")
	r.loadgen(ctx, "w2-plaza", 200*time.Second, append(slices.Clone(r.plazaArgs), "--workload", "w2",
		"--server-gc-url", fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", r.cfg.AdminPort), "--server-heap-out", heap)...)
	r.stopServer()
	r.pprofTop(ctx, heap, filepath.Join(r.runDir, "relay-w2-heap.txt"), 30, "-top", "-sample_index=inuse_space", "-nodecount=20")
	if err := r.peer(ctx, "w2", 200*time.Second, "--workload", "w2", "--server-gc-url", fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", r.cfg.PeerPort+1)); err != nil {
		return err
	}
	return ctx.Err()
}

func (r *Runner) w4(ctx context.Context) error {
	dur := r.cfg.W4Duration.String()
	interest := strconv.FormatFloat(r.cfg.Interest, 'f', -1, 64)
	if err := r.startRelay(ctx, "w4-im-on", "--interest-radius", interest); err != nil {
		return err
	}
	r.loadgen(ctx, "w4-plaza-im-on", 150*time.Second, append(slices.Clone(r.plazaArgs), "--workload", "w4", "--label", "im-on",
		"--interest-radius", interest, "--duration", dur)...)
	r.stopServer()
	if err := r.startRelay(ctx, "w4-im-off", "--interest-radius", "0"); err != nil {
		return err
	}
	r.loadgen(ctx, "w4-plaza-im-off", 150*time.Second, append(slices.Clone(r.plazaArgs), "--workload", "w4", "--label", "im-off", "--duration", dur)...)
	r.stopServer()
	if err := r.peer(ctx, "w4", 150*time.Second, "--workload", "w4", "--duration", dur); err != nil {
		return err
	}
	return ctx.Err()
}

// w3 needs the whole join path: Redis and FerretDB, the control plane, and
// a relay registered in Redis (its own heartbeat, --redis-url) so the
// control plane can place rooms on it. benchrun starts its own stack on
// separate ports and data (never touching a `make run` session) with the
// control plane's per-IP/per-user rate limits raised: a storm from one
// machine is otherwise capped at 60 sign-ins a minute per address. With
// ControlURL it runs against a system you started instead.
func (r *Runner) w3(ctx context.Context) error {
	rooms := strconv.Itoa(r.cfg.W3Clients / 50)
	common := []string{"--target", "plaza", "--workload", "w3", "--rooms", rooms, "--connect-concurrency", "16", "--join-timeout", "400s"}
	if r.cfg.ControlURL != "" {
		r.loadgen(ctx, "w3-plaza", 480*time.Second, append(common, "--control-url", r.cfg.ControlURL, "--control-world", r.cfg.W3World)...)
		return ctx.Err()
	}
	st := &w3Stack{r: r}
	defer st.stop()
	url, err := st.start(ctx)
	if err != nil {
		r.skip("w3", err.Error())
		r.logf("W3 skipped: %v", err)
		return ctx.Err()
	}
	r.loadgen(ctx, "w3-plaza", 480*time.Second, append(common, "--control-url", url, "--control-world", "bench")...)
	return ctx.Err()
}

// w3Stack is W3's own Redis + FerretDB + control plane + relay.
type w3Stack struct {
	r        *Runner
	services bool // services.sh start ran: stop must run services.sh stop
	control  *proc
}

// env is what scripts/services.sh and the control plane see: W3's own
// data directory and ports.
func (s *w3Stack) env() []string {
	c := &s.r.cfg
	return []string{
		"PLAZA_DATA_DIR=" + filepath.Join(s.r.runDir, "w3-data"),
		"PLAZA_REDIS_PORT=" + strconv.Itoa(c.W3RedisPort),
		"PLAZA_MONGO_PORT=" + strconv.Itoa(c.W3MongoPort),
		"PLAZA_FERRETDB_DEBUG_PORT=" + strconv.Itoa(c.W3MongoPort+1),
	}
}

func (s *w3Stack) redisURL() string {
	return fmt.Sprintf("redis://127.0.0.1:%d/0", s.r.cfg.W3RedisPort)
}

func (s *w3Stack) start(ctx context.Context) (string, error) {
	r, c := s.r, &s.r.cfg
	if !portFree(c.W3ControlPrt) {
		return "", fmt.Errorf("port %d is taken", c.W3ControlPrt)
	}
	// Fresh services only: a Redis or FerretDB left running from an earlier
	// run would carry its users, seats and stream into this one.
	if !portFree(c.W3RedisPort) || !portFree(c.W3MongoPort) {
		return "", fmt.Errorf("the W3 Redis/FerretDB ports (%d/%d) are taken: stop the earlier run's services", c.W3RedisPort, c.W3MongoPort)
	}
	s.services = true
	services := filepath.Join(c.Root, "scripts", "services.sh")
	if err := r.procs.run(ctx, "services.sh start", command(services, []string{"start"}, c.Root, s.env(), r.log, r.log), 3*time.Minute); err != nil {
		return "", fmt.Errorf("the W3 services did not start: %w", err)
	}
	ctlEnv := append(s.env(), "PLAZA_PORT="+strconv.Itoa(c.W3ControlPrt), "PLAZA_REDIS_URL="+s.redisURL(),
		fmt.Sprintf("PLAZA_MONGO_URL=mongodb://127.0.0.1:%d/", c.W3MongoPort), "PLAZA_KEY_DIR="+filepath.Join(r.runDir, "w3-keys"),
		"PLAZA_SIGNIN_PER_IP=1000000", "PLAZA_SIGNIN_PER_DEVICE=1000000", "PLAZA_JOIN_PER_IP=1000000",
		"PLAZA_JOIN_PER_USER=1000000", "PLAZA_ACCESS_LOG=false", "PLAZA_LOG_LEVEL=info")
	python := filepath.Join(c.Root, ".venv", "bin", "python")
	logPath := filepath.Join(r.runDir, "control-w3.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	for _, args := range [][]string{
		{"-m", "plaza_control", "gen-signing-key"},
		{"-m", "plaza_control", "create-world", "--id", "bench", "--capacity", "50", "--tick-rate", strconv.Itoa(c.TickHz), "--exist-ok"},
	} {
		if err := r.procs.run(ctx, "plaza_control "+args[2], command(python, args, c.Root, ctlEnv, logFile, logFile), 2*time.Minute); err != nil {
			return "", fmt.Errorf("plaza_control %s: %w; see %s", args[2], err, logPath)
		}
	}
	s.control, err = r.procs.start("control plane", command(python, []string{"-m", "plaza_control", "serve"}, c.Root, ctlEnv, logFile, logFile))
	if err != nil {
		return "", err
	}
	if err := waitPort(ctx, c.W3ControlPrt, 60*time.Second, s.control); err != nil {
		fmt.Fprintf(r.log, "%s\n", tail(logPath, 20))
		return "", fmt.Errorf("the W3 control plane did not start: %w; see %s", err, logPath)
	}
	ctlURL := fmt.Sprintf("http://127.0.0.1:%d", c.W3ControlPrt)
	keys := r.relayKeys
	r.relayKeys = []string{"--jwks-url", ctlURL + "/.well-known/jwks.json"}
	err = r.startRelay(ctx, "w3", "--redis-url", s.redisURL(), "--public-url", fmt.Sprintf("ws://127.0.0.1:%d/ws", c.RelayPort))
	r.relayKeys = keys
	if err != nil {
		return "", err
	}
	r.w3Heartbeat = "the relay's own"
	// A heartbeat is in Redis and the control plane's relay cache (500 ms) has it.
	select {
	case <-time.After(3 * time.Second):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return ctlURL, nil
}

// stop takes the stack down: relay, control plane (SIGKILL after 15 s),
// services.
func (s *w3Stack) stop() {
	s.r.stopServer()
	if s.control != nil && s.control.stop(15*time.Second) {
		s.r.logf("the W3 control plane ignored SIGTERM for 15 s: killed")
	}
	if s.services {
		c := &s.r.cfg
		cmd := command(filepath.Join(c.Root, "scripts", "services.sh"), []string{"stop"}, c.Root, s.env(), nil, nil)
		// Not ctx: the stack is stopped even when the run was interrupted.
		_ = s.r.procs.run(context.Background(), "services.sh stop", cmd, time.Minute)
		s.services = false
	}
}
