package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// procs starts the run's child processes and stops them. Every child gets
// its own process group (so a stop reaches the workers a loadgen forks, or
// whatever a script starts) and SIGKILL should benchrun die first
// (Pdeathsig). Safe for concurrent use.
type procs struct {
	mu      sync.Mutex
	running map[int]*proc
}

// proc is one started child.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when Wait returned
	err  error         // Wait's result, valid after done
}

func newProcs() *procs { return &procs{running: map[int]*proc{}} }

// command prepares a child; extraEnv entries override the inherited ones.
func command(name string, args []string, dir string, extraEnv []string, stdout, stderr io.Writer) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if len(extraEnv) > 0 {
		cmd.Env = append(os.Environ(), extraEnv...) // the last of duplicate keys wins
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// start runs cmd in the background until stop (or it exits).
func (ps *procs) start(name string, cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	ps.mu.Lock()
	ps.running[cmd.Process.Pid] = p
	ps.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		ps.mu.Lock()
		delete(ps.running, cmd.Process.Pid)
		ps.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// pid is the child's process id (also its process group id).
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the child has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the child's process group, SIGKILL after grace, and
// waits for it. It reports whether the child had to be killed.
func (p *proc) stop(grace time.Duration) (killed bool) {
	if p.exited() {
		return false
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
		return false
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
	return true
}

// stopAll stops every child still running, all at once, each with grace.
func (ps *procs) stopAll(grace time.Duration) {
	ps.mu.Lock()
	all := make([]*proc, 0, len(ps.running))
	for _, p := range ps.running {
		all = append(all, p)
	}
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(grace) }()
	}
	wg.Wait()
}

// errTimedOut is what run returns when a child outlived its limit.
var errTimedOut = errors.New("time limit reached")

// run starts cmd and waits for it, at most limit (and no longer than ctx):
// then its process group gets SIGTERM, and SIGKILL 10 s later, as
// `timeout --kill-after=10` did.
func (ps *procs) run(ctx context.Context, name string, cmd *exec.Cmd, limit time.Duration) error {
	p, err := ps.start(name, cmd)
	if err != nil {
		return err
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.err
	case <-timer.C:
		p.stop(10 * time.Second)
		return fmt.Errorf("%s: %w (%s)", name, errTimedOut, limit)
	case <-ctx.Done():
		p.stop(10 * time.Second)
		return fmt.Errorf("%s: %w", name, ctx.Err())
	}
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

// freePort asks the kernel for a loopback port nobody uses right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until 127.0.0.1:port accepts connections, p exits, or
// within passes.
func waitPort(ctx context.Context, port int, within time.Duration, p *proc) error {
	deadline := time.Now().Add(within)
	for {
		if !portFree(port) {
			return nil
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited before listening on %d: %v", p.name, port, p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on 127.0.0.1:%d after %s", port, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
