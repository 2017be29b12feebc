package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// MaxConnsPerProc is how many sessions one worker holds at most: well under
// the 20,000 open files a process may have, leaving room for the rest.
const MaxConnsPerProc = 9000

// RunConfig is one load generator run: a plan template (everything but the
// members) plus how to split it over worker processes.
type RunConfig struct {
	Plan      Plan // template; Worker, Workers and Members are filled in
	Procs     int  // worker processes; zero value: enough for MaxConnsPerProc each, at least 2
	ServerPID int  // server process to sample CPU and RSS from; 0 = none
	// ServerGCURL, when set, is fetched (twice) after the joins to make the
	// server run a garbage collection (e.g. a pprof heap URL with ?gc=1), so
	// RSS per connection is also reported without uncollected garbage.
	ServerGCURL string
	// ServerHeapOut, with ServerGCURL, keeps the last GC response (a heap
	// profile when ServerGCURL is pprof's heap endpoint) in this file.
	ServerHeapOut string
	Exe           string    // this binary (workers run "<Exe> worker"); zero value: os.Executable()
	WorkerArg     []string  // arguments that select the worker mode; zero value: ["worker"]
	WorkerEnv     []string  // extra environment for workers (appended to ours)
	Log           io.Writer // progress lines; nil = discard
}

// ServerStats is what the coordinator read from /proc/<pid> of the server.
type ServerStats struct {
	PID               int     `json:"pid"`
	RSSBeforeKiB      int64   `json:"rss_before_kib"`
	RSSJoinedKiB      int64   `json:"rss_joined_kib"`
	RSSEndKiB         int64   `json:"rss_end_kib"`
	RSSPerConnBytes   float64 `json:"rss_per_conn_bytes"`
	RSSJoinedGCKiB    int64   `json:"rss_joined_after_gc_kib,omitempty"`
	RSSPerConnGCBytes float64 `json:"rss_per_conn_after_gc_bytes,omitempty"`
	CPUWindowSeconds  float64 `json:"cpu_window_s"`
	CPUCoresAvg       float64 `json:"cpu_cores_avg"`
	CPUJoinSeconds    float64 `json:"cpu_join_s"`
	CPUPerMillionUpds float64 `json:"cpu_s_per_million_updates"`
	// Window I/O from /proc/<pid>/io: read/write syscalls and bytes.
	ReadCalls    uint64 `json:"read_calls"`
	WriteCalls   uint64 `json:"write_calls"`
	BytesRead    uint64 `json:"bytes_read"`
	BytesWritten uint64 `json:"bytes_written"`
}

// Report is the merged result of a run (the JSON the tool writes).
type Report struct {
	Target     string   `json:"target"`
	Workload   Workload `json:"workload"`
	Procs      int      `json:"procs"`
	StartedAt  string   `json:"started_at"`
	Members    int      `json:"members"`
	Joined     int      `json:"joined"`
	JoinFailed int      `json:"join_failed"`
	Present    int      `json:"present"`
	WindowS    float64  `json:"window_s"`

	MovesSent         uint64  `json:"moves_sent"`
	ChatsSent         uint64  `json:"chats_sent"`
	SendErrors        uint64  `json:"send_errors"`
	MovementDelivered uint64  `json:"movement_delivered"`
	MovementRepeats   uint64  `json:"movement_repeats"` // re-sent updates, not counted as delivered
	MovementPerSec    float64 `json:"movement_delivered_per_s"`
	UpdatesDelivered  uint64  `json:"updates_delivered"` // movement updates + chat lines delivered

	ChatExpected        uint64  `json:"chat_expected"`
	ChatUnique          uint64  `json:"chat_unique"`
	ChatDuplicates      uint64  `json:"chat_duplicates"`
	ChatOrderViolations uint64  `json:"chat_order_violations"`
	ChatSeqRegressions  uint64  `json:"chat_seq_regressions"`
	ChatCompleteness    float64 `json:"chat_completeness"` // unique / expected, 1 = every line to every member
	ChatExactlyOnceOK   bool    `json:"chat_exactly_once_in_order"`

	MoveLatency Summary `json:"move_latency"`
	// BatchLatency is the server -> client leg of movement: server stamp
	// (MovementBatch.server_time_ms, ms resolution) to receipt.
	BatchLatency Summary `json:"batch_latency"`
	ChatLatency  Summary `json:"chat_latency"`
	ConnectTime  Summary `json:"connect_time"`
	JoinTime     Summary `json:"join_time"`
	ControlTime  Summary `json:"control_time"` // sign-in + join HTTP (control-plane mode)
	JoinsPerSec  float64 `json:"joins_per_s"`

	MoveLatencyHist Snapshot `json:"move_latency_hist_us"`
	ChatLatencyHist Snapshot `json:"chat_latency_hist_us"`
	JoinTimeHist    Snapshot `json:"join_time_hist_us"`

	LoadgenCPUSeconds float64 `json:"loadgen_cpu_s"` // all workers, over the window

	// The machine during the window: every core's busy time (server,
	// load generator and anything else running), and the load average at
	// the window's start and end. Numbers from a busy machine are noisy.
	MachineBusyCores float64 `json:"machine_busy_cores"`
	LoadAvgStart     string  `json:"loadavg_start"`
	LoadAvgEnd       string  `json:"loadavg_end"`

	// MoveSendLag is how late Move frames left the sender against their
	// schedule (a late sender sends fewer moves; latency is measured from
	// the actual send).
	MoveSendLag Summary `json:"move_send_lag"`
	MovesTarget uint64  `json:"moves_target"`

	Server *ServerStats      `json:"server,omitempty"`
	Events map[string]uint64 `json:"events"`
	// JoinErrorExamples is one error text per join failure kind.
	JoinErrorExamples map[string]string `json:"join_error_examples,omitempty"`
}

type workerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	msgs  chan message
	done  chan error
}

// Run forks the workers, joins every member, runs the measured window and
// returns the merged report. Workers are killed if Run returns early, and
// die with the coordinator (Pdeathsig) if it is killed.
func Run(ctx context.Context, cfg RunConfig) (*Report, error) {
	logf := func(format string, a ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "loadgen: "+format+"\n", a...)
		}
	}
	wl := cfg.Plan.Work
	n := wl.Members()
	if n <= 0 {
		return nil, errors.New("run: workload has no members")
	}
	procs := cfg.Procs
	if procs <= 0 {
		procs = max(2, (n+MaxConnsPerProc-1)/MaxConnsPerProc)
	}
	procs = min(procs, n)
	if (n+procs-1)/procs > MaxConnsPerProc {
		return nil, fmt.Errorf("run: %d members over %d processes exceeds %d per process", n, procs, MaxConnsPerProc)
	}
	exe := cfg.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	args := cfg.WorkerArg
	if len(args) == 0 {
		args = []string{"worker"}
	}
	rep := &Report{Target: cfg.Plan.Target, Workload: wl, Procs: procs, Members: n, StartedAt: time.Now().UTC().Format(time.RFC3339), Events: map[string]uint64{}}

	var srv *ServerStats
	var cpu0 float64
	if cfg.ServerPID > 0 {
		srv = &ServerStats{PID: cfg.ServerPID}
		var err error
		if srv.RSSBeforeKiB, err = ProcRSSKiB(cfg.ServerPID); err != nil {
			return nil, fmt.Errorf("run: server pid %d: %w", cfg.ServerPID, err)
		}
		cpu0, _ = ProcCPUSeconds(cfg.ServerPID)
	}

	// Members of a room are spread over the workers (member i goes to
	// worker i % procs), as real players of one room come from anywhere.
	plans := make([]Plan, procs)
	for w := range plans {
		plans[w] = cfg.Plan
		plans[w].Worker, plans[w].Workers, plans[w].Members = w, procs, nil
	}
	for i := range n {
		room := i / wl.MembersPerRoom
		m := Member{Index: i, Room: room, User: fmt.Sprintf("lg-u%06d", i), Name: fmt.Sprintf("bot %d", i)}
		plans[i%procs].Members = append(plans[i%procs].Members, m)
	}

	workers := make([]*workerProc, procs)
	defer func() {
		for _, wp := range workers {
			if wp == nil {
				continue
			}
			_ = wp.stdin.Close()
			select {
			case <-wp.done:
			case <-time.After(15 * time.Second):
				_ = wp.cmd.Process.Kill()
				<-wp.done
			}
		}
	}()
	for w := range plans {
		wp, err := startWorker(exe, args, cfg.WorkerEnv, &plans[w])
		if err != nil {
			return nil, err
		}
		workers[w] = wp
	}
	logf("%s: %d members in %d rooms over %d worker processes, %d source addresses", wl.Name, n, wl.Rooms, procs, max(1, cfg.Plan.SourceAddrs))

	// Phase 1: every worker joins its members.
	joinStart := time.Now()
	for _, wp := range workers {
		m, err := wp.wait(ctx, "joined", time.Duration(cfg.Plan.JoinTimeoutMs)*time.Millisecond+4*time.Minute)
		if err != nil {
			return nil, err
		}
		rep.Joined += m.Joined
		rep.JoinFailed += m.Failed
		if m.Failed > 0 {
			logf("worker %d: %d joins failed %v, e.g. %s", m.Worker, m.Failed, m.Events, m.Text)
		}
	}
	joinDur := time.Since(joinStart)
	logf("joined %d/%d in %.1fs (%d failed)", rep.Joined, n, joinDur.Seconds(), rep.JoinFailed)
	if rep.Joined == 0 {
		return nil, fmt.Errorf("run: no member could join (see worker errors above)")
	}

	// Phase 2: settle, then the measured window, started at one wall-clock
	// instant in every worker.
	time.Sleep(wl.settle())
	var cpuJoined float64
	if srv != nil {
		srv.RSSJoinedKiB, _ = ProcRSSKiB(cfg.ServerPID)
		cpuJoined, _ = ProcCPUSeconds(cfg.ServerPID)
		srv.CPUJoinSeconds = cpuJoined - cpu0
		if rep.Joined > 0 {
			srv.RSSPerConnBytes = float64(srv.RSSJoinedKiB-srv.RSSBeforeKiB) * 1024 / float64(rep.Joined)
		}
		if cfg.ServerGCURL != "" {
			if err := forceGC(ctx, cfg.ServerGCURL, cfg.ServerHeapOut); err != nil {
				logf("server GC via %s: %v", cfg.ServerGCURL, err)
			} else {
				srv.RSSJoinedGCKiB, _ = ProcRSSKiB(cfg.ServerPID)
				srv.RSSPerConnGCBytes = float64(srv.RSSJoinedGCKiB-srv.RSSBeforeKiB) * 1024 / float64(rep.Joined)
			}
		}
	}
	start := time.Now().Add(300 * time.Millisecond)
	for _, wp := range workers {
		if err := wp.send(message{Type: "start", StartUnixMs: start.UnixMilli()}); err != nil {
			return nil, err
		}
	}
	var cpuA, cpuB float64
	var ioA, ioB ProcIO
	var machA, machB MachineCPU
	var winWG sync.WaitGroup
	winWG.Add(1)
	go func() {
		defer winWG.Done()
		time.Sleep(time.Until(start))
		machA, _ = ReadMachineCPU()
		rep.LoadAvgStart = LoadAvg()
		if srv != nil {
			cpuA, _ = ProcCPUSeconds(cfg.ServerPID)
			ioA, _ = ReadProcIO(cfg.ServerPID)
		}
		time.Sleep(time.Until(start.Add(wl.Duration())))
		machB, _ = ReadMachineCPU()
		rep.LoadAvgEnd = LoadAvg()
		if srv != nil {
			cpuB, _ = ProcCPUSeconds(cfg.ServerPID)
			ioB, _ = ReadProcIO(cfg.ServerPID)
			srv.RSSEndKiB, _ = ProcRSSKiB(cfg.ServerPID)
		}
	}()
	logf("window: %s from %s", wl.Duration(), start.UTC().Format("15:04:05.000"))

	// Phase 3: results.
	var move, batch, chat, conn, join, lag, ctl Snapshot
	sentPerRoom := map[int]uint64{}
	presentPerRoom := map[int]int{}
	var first, last int64
	for _, wp := range workers {
		m, err := wp.wait(ctx, "result", wl.Duration()+wl.grace()+2*time.Minute)
		if err != nil {
			return nil, err
		}
		r := m.Result
		rep.Present += r.Present
		rep.MovesSent += r.MovesSent
		rep.ChatsSent += r.ChatsSent
		rep.SendErrors += r.SendErrors
		rep.LoadgenCPUSeconds += r.CPUSeconds
		rep.MovementDelivered += r.MovementRecv
		rep.MovementRepeats += r.MovementRepeats
		rep.ChatUnique += r.ChatRecvUnique
		rep.ChatDuplicates += r.ChatDuplicates
		rep.ChatOrderViolations += r.ChatOrderViolations
		rep.ChatSeqRegressions += r.ChatSeqRegressions
		for k, v := range r.ChatSentPerRoom {
			sentPerRoom[k] += v
		}
		for k, v := range r.PresentPerRoom {
			presentPerRoom[k] += v
		}
		move.Merge(r.MoveLatency)
		batch.Merge(r.BatchLatency)
		lag.Merge(r.MoveSendLag)
		chat.Merge(r.ChatLatency)
		conn.Merge(r.ConnectTime)
		join.Merge(r.JoinTime)
		ctl.Merge(r.ControlTime)
		for k, v := range r.Events {
			rep.Events[k] += v
		}
		for k, v := range r.Examples {
			if rep.JoinErrorExamples == nil {
				rep.JoinErrorExamples = map[string]string{}
			}
			if _, ok := rep.JoinErrorExamples[k]; !ok {
				rep.JoinErrorExamples[k] = v
			}
		}
		if first == 0 || (r.FirstJoinStartUs != 0 && r.FirstJoinStartUs < first) {
			first = r.FirstJoinStartUs
		}
		last = max(last, r.LastJoinDoneUs)
	}
	winWG.Wait()
	for room, sent := range sentPerRoom {
		rep.ChatExpected += sent * uint64(presentPerRoom[room])
	}
	rep.WindowS = wl.Duration().Seconds()
	if rep.WindowS > 0 {
		rep.MovementPerSec = float64(rep.MovementDelivered) / rep.WindowS
	}
	rep.UpdatesDelivered = rep.MovementDelivered + rep.ChatUnique
	rep.ChatCompleteness = 1
	if rep.ChatExpected > 0 {
		rep.ChatCompleteness = float64(rep.ChatUnique) / float64(rep.ChatExpected)
	}
	// Relay sequence gaps/duplicates (any reliable event, docs/protocol.md)
	// count against ordering too.
	rep.ChatSeqRegressions += rep.Events["relay_seq_gap"] + rep.Events["relay_seq_duplicate"]
	rep.ChatExactlyOnceOK = rep.ChatUnique == rep.ChatExpected && rep.ChatDuplicates == 0 && rep.ChatOrderViolations == 0 && rep.ChatSeqRegressions == 0
	rep.MoveLatency, rep.ChatLatency = move.Summarize(), chat.Summarize()
	rep.BatchLatency = batch.Summarize()
	rep.MoveSendLag = lag.Summarize()
	rep.MovesTarget = uint64(float64(rep.Joined) * wl.MoveHz * wl.Duration().Seconds())
	if rep.WindowS > 0 && machB.Busy > machA.Busy {
		rep.MachineBusyCores = (machB.Busy - machA.Busy) / rep.WindowS
	}
	rep.ConnectTime, rep.JoinTime = conn.Summarize(), join.Summarize()
	rep.ControlTime = ctl.Summarize()
	rep.MoveLatencyHist, rep.ChatLatencyHist, rep.JoinTimeHist = move, chat, join
	if last > first && rep.Joined > 0 {
		rep.JoinsPerSec = float64(rep.Joined) / (float64(last-first) / 1e6)
	}
	if srv != nil {
		srv.CPUWindowSeconds = cpuB - cpuA
		srv.ReadCalls, srv.WriteCalls = ioB.SysCR-ioA.SysCR, ioB.SysCW-ioA.SysCW
		srv.BytesRead, srv.BytesWritten = ioB.RChar-ioA.RChar, ioB.WChar-ioA.WChar
		if rep.WindowS > 0 {
			srv.CPUCoresAvg = srv.CPUWindowSeconds / rep.WindowS
		}
		if rep.UpdatesDelivered > 0 {
			srv.CPUPerMillionUpds = srv.CPUWindowSeconds / (float64(rep.UpdatesDelivered) / 1e6)
		}
		rep.Server = srv
	}
	return rep, nil
}

func startWorker(exe string, args, env []string, p *Plan) (*workerProc, error) {
	cmd := exec.Command(exe, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	wp := &workerProc{cmd: cmd, stdin: stdin, msgs: make(chan message, 16), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			var m message
			if err := json.Unmarshal(sc.Bytes(), &m); err == nil {
				wp.msgs <- m
			}
		}
		close(wp.msgs)
		wp.done <- cmd.Wait()
		close(wp.done)
	}()
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := wp.send0(append(b, '\n')); err != nil {
		return nil, err
	}
	return wp, nil
}

func (wp *workerProc) send0(b []byte) error {
	if _, err := wp.stdin.Write(b); err != nil {
		return fmt.Errorf("worker %d: %w", wp.cmd.Process.Pid, err)
	}
	return nil
}

func (wp *workerProc) send(m message) error {
	b, _ := json.Marshal(m)
	return wp.send0(append(b, '\n'))
}

func (wp *workerProc) wait(ctx context.Context, typ string, timeout time.Duration) (message, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case m, ok := <-wp.msgs:
			if !ok {
				return message{}, fmt.Errorf("worker pid %d exited before %q", wp.cmd.Process.Pid, typ)
			}
			if m.Type == typ {
				return m, nil
			}
		case <-t.C:
			return message{}, fmt.Errorf("worker pid %d: no %q within %s", wp.cmd.Process.Pid, typ, timeout)
		case <-ctx.Done():
			return message{}, ctx.Err()
		}
	}
}

// forceGC fetches url twice (each fetch of a pprof heap profile with ?gc=1
// runs a full collection), then gives the runtime a second to settle.
func forceGC(ctx context.Context, url, keep string) error {
	for i := range 2 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		if i == 1 && keep != "" {
			if err := os.WriteFile(keep, body, 0o644); err != nil {
				return err
			}
		}
	}
	time.Sleep(time.Second)
	return nil
}
