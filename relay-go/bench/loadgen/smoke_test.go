package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// workerEnv marks a re-executed test binary as a load generator worker.
const workerEnv = "PLAZA_LOADGEN_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSmokeAgainstRealRelay builds the relay binary, starts it on loopback
// with a JWKS file holding the load generator's key, runs 20 clients in two
// rooms over two worker processes for ~3 s, and checks that movement is
// delivered and every chat line reaches every member exactly once, in
// order. It is part of `make test` so the load generator never rots; it
// never skips: a missing or broken relay fails it.
func TestSmokeAgainstRealRelay(t *testing.T) {
	dir := t.TempDir()
	relayBin := filepath.Join(dir, "relay")
	build := exec.Command("go", "build", "-o", relayBin, "./relay-go/cmd/relay")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build relay-go/cmd/relay: %v\n%s", err, out)
	}
	seed, err := NewSeed()
	if err != nil {
		t.Fatal(err)
	}
	const relayID, kid = "smoke-relay", "smoke-key"
	minter, err := NewMinter(seed, kid, relayID, "smoke-world")
	if err != nil {
		t.Fatal(err)
	}
	jwks := filepath.Join(dir, "jwks.json")
	if err := minter.WriteJWKS(jwks); err != nil {
		t.Fatal(err)
	}
	port, admin := freePort(t), freePort(t)
	var logs bytes.Buffer
	relay := exec.Command(relayBin,
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--admin-listen", fmt.Sprintf("127.0.0.1:%d", admin),
		"--relay-id", relayID, "--jwks-file", jwks, "--tick-rate", "20", "--log-level", "warn")
	relay.Stdout, relay.Stderr = &logs, &logs
	relay.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = relay.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = relay.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = relay.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("relay output:\n%s", logs.String())
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay did not listen on %d: %v\n%s", port, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	wl := Presets["smoke"]
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var progress strings.Builder
	rep, err := Run(ctx, RunConfig{
		Plan: Plan{
			Target: "plaza", URL: fmt.Sprintf("ws://127.0.0.1:%d/ws", port), Work: wl,
			RelayID: relayID, WorldID: "smoke-world", TicketKid: kid, TicketSeed: seed, RoomPrefix: "smoke-r",
			SourceAddrs: 2, ConnectConcurrency: 8, Seed: 1,
		},
		Procs: 2, ServerPID: relay.Process.Pid,
		Exe: exe, WorkerArg: []string{"-test.run=^$"}, WorkerEnv: []string{workerEnv + "=1"},
		Log: &progress,
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var sum strings.Builder
	PrintSummary(&sum, rep)
	t.Log("\n" + sum.String())
	if rep.Joined != wl.Members() || rep.Present != wl.Members() {
		t.Errorf("joined %d, present %d, want %d", rep.Joined, rep.Present, wl.Members())
	}
	if rep.MovementDelivered == 0 {
		t.Error("no movement delivered")
	}
	if rep.ChatsSent == 0 || rep.ChatExpected == 0 {
		t.Errorf("no chat sent (%d) or expected (%d)", rep.ChatsSent, rep.ChatExpected)
	}
	if !rep.ChatExactlyOnceOK {
		t.Errorf("chat not delivered exactly once in order: %d/%d, dup %d, order %d, seq %d",
			rep.ChatUnique, rep.ChatExpected, rep.ChatDuplicates, rep.ChatOrderViolations, rep.ChatSeqRegressions)
	}
	if rep.Server == nil || rep.Server.CPUWindowSeconds <= 0 {
		t.Errorf("server CPU not sampled: %+v", rep.Server)
	}
}
