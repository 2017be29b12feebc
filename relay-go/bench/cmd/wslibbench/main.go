// Command wslibbench measures WebSocket server libraries on Plaza's relay
// workload: resident memory per idle connection, fan-out (one goroutine
// sending a 1 KiB frame to every session) and the receive path (small binary
// messages from many clients), plus a raw-TCP "physical floor".
//
// Usage: wslibbench run [flags]   (orchestrates everything, prints tables)
//
//	wslibbench server ...  / wslibbench client ...  are the child processes.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wslibbench run|server|client [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		runServer(os.Args[2:])
	case "client":
		runClient(os.Args[2:])
	case "run":
		runAll(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

// ---------------- child process plumbing ----------------

type proc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startProc(args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	// Children die with us, whatever happens to the orchestrator.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outR, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(outR)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &proc{cmd: cmd, in: in, out: sc}, nil
}

// expect reads stdout lines until one starts with prefix; returns the rest.
func (p *proc) expect(prefix string) (string, error) {
	for p.out.Scan() {
		if l := p.out.Text(); strings.HasPrefix(l, prefix) {
			return strings.TrimPrefix(l, prefix), nil
		}
	}
	return "", fmt.Errorf("pid %d: stdout closed while waiting for %q", p.cmd.Process.Pid, prefix)
}

func (p *proc) call(cmd string, v any) error {
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		return err
	}
	s, err := p.expect("@@ ")
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// stop closes stdin (both children exit on EOF) and kills after a grace period.
func (p *proc) stop() {
	_ = p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// withPair starts a server for lib and a client with clientArgs, waits until
// all n connections said hello, runs f, and tears both down.
func withPair(lib string, n int, clientArgs []string, before func(srv *proc) error, f func(srv *proc) error) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	srv, err := startProc("server", "-lib", lib, "-addr", addr)
	if err != nil {
		return err
	}
	defer srv.stop()
	if _, err := srv.expect("@@ "); err != nil {
		return err
	}
	if before != nil {
		if err := before(srv); err != nil {
			return err
		}
	}
	args := append([]string{"client", "-addr", addr, "-n", fmt.Sprint(n)}, clientArgs...)
	if lib == "raw" {
		args = append(args, "-raw")
	}
	cli, err := startProc(args...)
	if err != nil {
		return err
	}
	defer cli.stop()
	if _, err := cli.expect("READY"); err != nil {
		return err
	}
	var w struct{ Hellos int }
	if err := srv.call(fmt.Sprintf("wait %d", n), &w); err != nil {
		return err
	}
	if w.Hellos < n {
		return fmt.Errorf("%s: only %d/%d hellos", lib, w.Hellos, n)
	}
	return f(srv)
}

// ---------------- phases ----------------

type memResult struct{ base, after memStats }

func measureMem(lib string, n int) (memResult, error) {
	var r memResult
	err := withPair(lib, n, []string{"-mode", "idle"},
		func(srv *proc) error { return srv.call("stats", &r.base) },
		func(srv *proc) error {
			time.Sleep(time.Second)
			return srv.call("stats", &r.after)
		})
	return r, err
}

func frameLen(lib string, size int) int {
	switch {
	case lib == "raw":
		return size
	case size < 126:
		return size + 2
	case size < 65536:
		return size + 4
	}
	return size + 10
}

func measureFanout(lib string, n, rounds, size int) (fanoutResult, error) {
	var r fanoutResult
	expect := int64(rounds) * int64(frameLen(lib, size))
	err := withPair(lib, n, []string{"-mode", "drain", "-expect", fmt.Sprint(expect)}, nil,
		func(srv *proc) error {
			var warm fanoutResult // warm-up trial, discarded
			if err := srv.call(fmt.Sprintf("fanout %d %d", rounds, size), &warm); err != nil {
				return err
			}
			if warm.Err != "" {
				return errors.New(warm.Err)
			}
			if err := srv.call(fmt.Sprintf("fanout %d %d", rounds, size), &r); err != nil {
				return err
			}
			if r.Err != "" {
				return errors.New(r.Err)
			}
			return nil
		})
	return r, err
}

func measureRecv(lib string, n, size int, window time.Duration, clientArgs ...string) (recvResult, error) {
	var r recvResult
	err := withPair(lib, n, append([]string{"-size", fmt.Sprint(size)}, clientArgs...), nil,
		func(srv *proc) error {
			time.Sleep(300 * time.Millisecond) // warm up
			return srv.call(fmt.Sprintf("recv %d", window.Milliseconds()), &r)
		})
	return r, err
}

// ---------------- orchestration and report ----------------

type samples map[string]map[string][]float64 // metric -> lib -> values

func (s samples) add(metric, lib string, v float64) {
	if s[metric] == nil {
		s[metric] = map[string][]float64{}
	}
	s[metric][lib] = append(s[metric][lib], v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

func (s samples) med(metric, lib string) float64 { return median(s[metric][lib]) }

func (s samples) best(metric string, libs []string) float64 {
	b := math.Inf(1)
	for _, l := range libs {
		if v := s.med(metric, l); v < b {
			b = v
		}
	}
	return b
}

func runAll(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	libList := fs.String("libs", strings.Join(libNames(), ","), "libraries")
	reps := fs.Int("reps", 3, "repetitions (medians reported)")
	idleN := fs.Int("idle", 5000, "idle connections for the memory test")
	fanN := fs.Int("fan", 200, "sessions for fan-out and receive tests")
	rounds := fs.Int("rounds", 500, "fan-out rounds per trial (sends = rounds*fan)")
	fanSize := fs.Int("fansize", 1024, "fan-out frame payload bytes")
	recvSize := fs.Int("recvsize", 64, "receive-path message payload bytes")
	recvMs := fs.Int("recvms", 1500, "receive-path measurement window (ms)")
	pacedRate := fs.Int("rate", 40000, "paced receive test: total messages/s over all clients")
	floorSize := fs.Int("floorsize", 100, "raw write size for the physical floor")
	_ = fs.Parse(args)
	libs := strings.Split(*libList, ",")

	fmt.Printf("# wslibbench: nproc=%d GOMAXPROCS=%d %s %s/%s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("# idle=%d fan=%d rounds=%d fansize=%d recvsize=%d recvms=%d reps=%d\n",
		*idleN, *fanN, *rounds, *fanSize, *recvSize, *recvMs, *reps)
	s := samples{}
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", what, err)
		os.Exit(1)
	}
	for rep := 0; rep < *reps; rep++ {
		for _, lib := range libs {
			t0 := time.Now()
			m, err := measureMem(lib, *idleN)
			if err != nil {
				fail("mem "+lib, err)
			}
			n := float64(*idleN)
			s.add("rss", lib, float64(m.after.RSSAfterGC-m.base.RSSAfterGC)/n)
			s.add("rssfree", lib, float64(m.after.RSSAfterFree-m.base.RSSAfterFree)/n)
			s.add("heap", lib, float64(m.after.HeapInuse-m.base.HeapInuse)/n)
			s.add("stack", lib, float64(m.after.StackInuse-m.base.StackInuse)/n)
			s.add("gor", lib, float64(m.after.Goroutines-m.base.Goroutines)/n)

			f, err := measureFanout(lib, *fanN, *rounds, *fanSize)
			if err != nil {
				fail("fanout "+lib, err)
			}
			s.add("f_write", lib, f.WriteNsPerSend)
			s.add("f_deliv", lib, f.DelivNsPerSend)
			s.add("f_cpu", lib, f.CPUNsPerSend)
			s.add("f_allocs", lib, f.AllocsPerSend)
			s.add("f_bytes", lib, f.BytesPerSend)

			r, err := measureRecv(lib, *fanN, *recvSize, time.Duration(*recvMs)*time.Millisecond, "-mode", "flood")
			if err != nil {
				fail("recv "+lib, err)
			}
			s.add("r_cpu", lib, r.CPUNsPerMsg)
			s.add("r_rate", lib, r.MsgsPerSec)
			s.add("r_allocs", lib, r.AllocsPerMsg)
			s.add("r_bytes", lib, r.BytesPerMsg)
			p, err := measureRecv(lib, *fanN, *recvSize, time.Duration(*recvMs)*time.Millisecond,
				"-mode", "paced", "-rate", fmt.Sprint(*pacedRate))
			if err != nil {
				fail("paced recv "+lib, err)
			}
			s.add("p_cpu", lib, p.CPUNsPerMsg)
			s.add("p_rate", lib, p.MsgsPerSec)
			s.add("p_allocs", lib, p.AllocsPerMsg)
			s.add("p_bytes", lib, p.BytesPerMsg)
			fmt.Fprintf(os.Stderr, "rep %d %-8s rss/conn=%.0fB fanout cpu=%.0fns/send recv cpu=%.0fns/msg paced cpu=%.0fns/msg (%.1fs)\n",
				rep+1, lib, float64(m.after.RSSAfterGC-m.base.RSSAfterGC)/n, f.CPUNsPerSend, r.CPUNsPerMsg, p.CPUNsPerMsg,
				time.Since(t0).Seconds())
		}
		for _, sz := range []int{*floorSize, *fanSize} {
			key := fmt.Sprintf("raw%d", sz)
			f, err := measureFanout("raw", *fanN, *rounds, sz)
			if err != nil {
				fail("floor", err)
			}
			s.add("f_write", key, f.WriteNsPerSend)
			s.add("f_deliv", key, f.DelivNsPerSend)
			s.add("f_cpu", key, f.CPUNsPerSend)
			s.add("f_allocs", key, f.AllocsPerSend)
			s.add("f_bytes", key, f.BytesPerSend)
		}
	}

	ratio := func(metric, lib string) string {
		return fmt.Sprintf("%.2fx", s.med(metric, lib)/s.best(metric, libs))
	}
	spread := func(metric, lib string) string {
		v := append([]float64(nil), s[metric][lib]...)
		sort.Float64s(v)
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprintf("%.0f", x)
		}
		return strings.Join(parts, "/")
	}

	fmt.Printf("\n## Idle connections: server memory per connection (N=%d, medians of %d)\n\n", *idleN, *reps)
	fmt.Println("| library | RSS/conn after GC | ratio | RSS/conn after FreeOSMemory | heap in use/conn | stack/conn | goroutines/conn | RSS samples |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|")
	for _, l := range libs {
		fmt.Printf("| %s | %.0f B | %s | %.0f B | %.0f B | %.0f B | %.2f | %s |\n", l,
			s.med("rss", l), ratio("rss", l), s.med("rssfree", l), s.med("heap", l), s.med("stack", l),
			s.med("gor", l), spread("rss", l))
	}
	fmt.Printf("\n## Fan-out: one goroutine sends a %d B binary frame to each of %d sessions (%d rounds, medians of %d)\n\n",
		*fanSize, *fanN, *rounds, *reps)
	fmt.Println("| library | server CPU ns/send | ratio | write-loop wall ns/send | ratio | until-delivered wall ns/send | allocs/send | B/send | CPU samples |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, l := range libs {
		fmt.Printf("| %s | %.0f | %s | %.0f | %s | %.0f | %.2f | %.0f | %s |\n", l,
			s.med("f_cpu", l), ratio("f_cpu", l), s.med("f_write", l), ratio("f_write", l), s.med("f_deliv", l),
			s.med("f_allocs", l), s.med("f_bytes", l), spread("f_cpu", l))
	}
	fmt.Printf("\n## Receive path: %d B binary messages flooded by %d clients (%d ms window, medians of %d)\n\n",
		*recvSize, *fanN, *recvMs, *reps)
	fmt.Println("| library | server CPU ns/msg | ratio | msgs/s received | allocs/msg | B/msg | CPU samples |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	for _, l := range libs {
		fmt.Printf("| %s | %.0f | %s | %.0f | %.2f | %.1f | %s |\n", l,
			s.med("r_cpu", l), ratio("r_cpu", l), s.med("r_rate", l), s.med("r_allocs", l), s.med("r_bytes", l),
			spread("r_cpu", l))
	}
	fmt.Printf("\n## Receive path, paced: %d B messages, %d clients, %d msgs/s in total (one message per read; %d ms window, medians of %d)\n\n",
		*recvSize, *fanN, *pacedRate, *recvMs, *reps)
	fmt.Println("| library | server CPU ns/msg | ratio | msgs/s received | allocs/msg | B/msg | CPU samples |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	for _, l := range libs {
		fmt.Printf("| %s | %.0f | %s | %.0f | %.2f | %.1f | %s |\n", l,
			s.med("p_cpu", l), ratio("p_cpu", l), s.med("p_rate", l), s.med("p_allocs", l), s.med("p_bytes", l),
			spread("p_cpu", l))
	}
	fmt.Printf("\n## Physical floor: plain net.Conn.Write to %d loopback TCP connections (%d rounds, medians of %d)\n\n",
		*fanN, *rounds, *reps)
	fmt.Println("| write size | write-loop wall ns/write | server CPU ns/write | until-delivered wall ns/write | allocs/write | wall samples |")
	fmt.Println("|---|---:|---:|---:|---:|---|")
	for _, sz := range []int{*floorSize, *fanSize} {
		k := fmt.Sprintf("raw%d", sz)
		fmt.Printf("| %d B | %.0f | %.0f | %.0f | %.2f | %s |\n", sz, s.med("f_write", k), s.med("f_cpu", k),
			s.med("f_deliv", k), s.med("f_allocs", k), spread("f_write", k))
	}
}
