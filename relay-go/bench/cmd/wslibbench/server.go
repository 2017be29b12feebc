package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Message kinds (first payload byte) sent by the clients.
const (
	kindHello = 'H' // answered with helloReply
	kindAck   = 'A' // a drain client got all bytes of one fan-out trial
	kindData  = 'D' // receive-path load
)

var helloReply = []byte("hello!!!")

type server struct {
	mu       sync.Mutex
	sessions []session
	hellos   atomic.Int64
	acks     atomic.Int64
	data     atomic.Int64
}

func (s *server) onOpen(ss session) {
	s.mu.Lock()
	s.sessions = append(s.sessions, ss)
	s.mu.Unlock()
}

func (s *server) onMsg(ss session, data []byte) {
	if len(data) == 0 {
		return
	}
	switch data[0] {
	case kindData:
		s.data.Add(1)
	case kindAck:
		s.acks.Add(1)
	case kindHello:
		if err := ss.WriteBinary(helloReply); err == nil {
			s.hellos.Add(1)
		}
	}
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return -1
}

type memStats struct {
	RSSAfterGC   int64 `json:"rss_gc"`   // VmRSS after runtime.GC()
	RSSAfterFree int64 `json:"rss_free"` // VmRSS after debug.FreeOSMemory()
	HeapInuse    int64 `json:"heap_inuse"`
	StackInuse   int64 `json:"stack_inuse"`
	Goroutines   int   `json:"goroutines"`
	Sessions     int   `json:"sessions"`
}

func (s *server) stats() memStats {
	var m memStats
	runtime.GC()
	runtime.GC()
	m.RSSAfterGC = vmRSS()
	debug.FreeOSMemory()
	m.RSSAfterFree = vmRSS()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapInuse = int64(ms.HeapInuse)
	m.StackInuse = int64(ms.StackInuse)
	m.Goroutines = runtime.NumGoroutine()
	s.mu.Lock()
	m.Sessions = len(s.sessions)
	s.mu.Unlock()
	return m
}

type fanoutResult struct {
	Sends          int64   `json:"sends"`
	WriteNsPerSend float64 `json:"write_ns"` // wall time of the write loop / sends
	DelivNsPerSend float64 `json:"deliv_ns"` // wall time until every client acked / sends
	CPUNsPerSend   float64 `json:"cpu_ns"`   // server process CPU (user+sys) until delivered / sends
	AllocsPerSend  float64 `json:"allocs"`   // heap allocations / sends
	BytesPerSend   float64 `json:"bytes"`    // heap bytes allocated / sends
	Err            string  `json:"err,omitempty"`
}

func (s *server) fanout(rounds, size int) fanoutResult {
	s.mu.Lock()
	sess := append([]session(nil), s.sessions...)
	s.mu.Unlock()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	n := int64(len(sess))
	var r fanoutResult
	r.Sends = int64(rounds) * n
	ackBase := s.acks.Load()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0 := cpuNanos()
	t0 := time.Now()
	for i := 0; i < rounds; i++ {
		for _, ss := range sess {
			if err := ss.WriteBinary(payload); err != nil && r.Err == "" {
				r.Err = err.Error()
			}
		}
	}
	t1 := time.Now()
	deadline := t1.Add(60 * time.Second)
	for s.acks.Load()-ackBase < n {
		if time.Now().After(deadline) {
			r.Err = fmt.Sprintf("timeout: %d/%d acks", s.acks.Load()-ackBase, n)
			break
		}
		time.Sleep(50 * time.Microsecond)
	}
	t2 := time.Now()
	c1 := cpuNanos()
	runtime.ReadMemStats(&m1)
	fs := float64(r.Sends)
	r.WriteNsPerSend = float64(t1.Sub(t0).Nanoseconds()) / fs
	r.DelivNsPerSend = float64(t2.Sub(t0).Nanoseconds()) / fs
	r.CPUNsPerSend = float64(c1-c0) / fs
	r.AllocsPerSend = float64(m1.Mallocs-m0.Mallocs) / fs
	r.BytesPerSend = float64(m1.TotalAlloc-m0.TotalAlloc) / fs
	return r
}

type recvResult struct {
	Msgs         int64   `json:"msgs"`
	MsgsPerSec   float64 `json:"msgs_per_sec"`
	CPUNsPerMsg  float64 `json:"cpu_ns"`
	AllocsPerMsg float64 `json:"allocs"`
	BytesPerMsg  float64 `json:"bytes"`
}

func (s *server) recv(window time.Duration) recvResult {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	d0 := s.data.Load()
	c0 := cpuNanos()
	t0 := time.Now()
	time.Sleep(window)
	d1 := s.data.Load()
	c1 := cpuNanos()
	t1 := time.Now()
	runtime.ReadMemStats(&m1)
	var r recvResult
	r.Msgs = d1 - d0
	if r.Msgs == 0 {
		return r
	}
	fm := float64(r.Msgs)
	r.MsgsPerSec = fm / t1.Sub(t0).Seconds()
	r.CPUNsPerMsg = float64(c1-c0) / fm
	r.AllocsPerMsg = float64(m1.Mallocs-m0.Mallocs) / fm
	r.BytesPerMsg = float64(m1.TotalAlloc-m0.TotalAlloc) / fm
	return r
}

// runServer: `server -lib X -addr A`. Reads commands on stdin, one per line,
// and answers each with one line "@@ <json>" on stdout:
//
//	wait N            until N clients said hello and got the reply
//	stats             GC, then RSS / heap / goroutines
//	fanout R SIZE     R rounds of one SIZE-byte frame to every session
//	recv MS           measure the receive path for MS milliseconds
//	quit
func runServer(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	lib := fs.String("lib", "nbio", "library")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	_ = fs.Parse(args)

	if os.Getenv("WSLIBBENCH_ALLOCPROFILE") != "" {
		runtime.MemProfileRate = 64 // diagnostics only: where do allocations come from
	}
	s := &server{}
	stop, err := mustLib(*lib)(*addr, s.onOpen, s.onMsg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	defer stop()
	out := bufio.NewWriter(os.Stdout)
	reply := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(out, "@@ %s\n", b)
		_ = out.Flush()
	}
	reply(map[string]string{"listening": *addr})
	defer writeAllocProfile()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		arg := func(i int) int {
			if i >= len(f) {
				return 0
			}
			v, _ := strconv.Atoi(f[i])
			return v
		}
		switch f[0] {
		case "wait":
			n := int64(arg(1))
			deadline := time.Now().Add(90 * time.Second)
			for s.hellos.Load() < n && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			reply(map[string]int64{"hellos": s.hellos.Load()})
		case "stats":
			reply(s.stats())
		case "fanout":
			reply(s.fanout(arg(1), arg(2)))
		case "recv":
			reply(s.recv(time.Duration(arg(1)) * time.Millisecond))
		case "quit":
			return
		}
	}
}

// writeAllocProfile writes an allocation profile to $WSLIBBENCH_ALLOCPROFILE
// (diagnostics only; inspect with `go tool pprof -sample_index=alloc_objects`).
func writeAllocProfile() {
	path := os.Getenv("WSLIBBENCH_ALLOCPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid()))
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup("allocs").WriteTo(f, 0)
}
