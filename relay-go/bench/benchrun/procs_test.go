package benchrun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid exists (and is not a zombie we reaped).
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A child's own children (a loadgen's workers, a script's servers) die
// with it: stop signals the whole process group, and SIGKILL follows a
// SIGTERM that is ignored.
func TestStopReachesTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	ps := newProcs()
	// The shell ignores TERM; its background child records its pid.
	script := `trap '' TERM; sleep 300 & echo $! > ` + pidFile + `; wait`
	p, err := ps.start("sh", command("sh", []string{"-c", script}, "", nil, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	var grandchild int
	for deadline := time.Now().Add(5 * time.Second); grandchild == 0; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			grandchild, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never started its own child")
		}
	}
	start := time.Now()
	if killed := p.stop(300 * time.Millisecond); !killed {
		t.Error("a child ignoring SIGTERM was not SIGKILLed")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("stop took %s", time.Since(start))
	}
	for deadline := time.Now().Add(2 * time.Second); alive(grandchild); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d outlived the stop", grandchild)
		}
	}
}

// run ends a child at its time limit, and stopAll ends what is left.
func TestRunTimeLimitAndStopAll(t *testing.T) {
	ps := newProcs()
	start := time.Now()
	err := ps.run(context.Background(), "sleep", command("sleep", []string{"300"}, "", nil, nil, nil), 200*time.Millisecond)
	if !errors.Is(err, errTimedOut) || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %s, want a time-out within a few seconds", err, time.Since(start))
	}
	p, err := ps.start("sleep", command("sleep", []string{"300"}, "", nil, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	ps.stopAll(time.Second)
	if !p.exited() {
		t.Fatal("stopAll left a child running")
	}
	if err := ps.run(context.Background(), "true", command("true", nil, "", nil, nil, nil), time.Minute); err != nil {
		t.Fatalf("a child that exits 0: %v", err)
	}
}
