package loadgen

import (
	"fmt"
	"io"
	"sort"
)

// PrintSummary writes the human summary of a report.
func PrintSummary(w io.Writer, r *Report) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	wl := r.Workload
	p("== %s against %s: %d rooms x %d members, move %.1f Hz, chat %.2f/s/member, window %.0fs, %d procs",
		wl.Name, r.Target, wl.Rooms, wl.MembersPerRoom, wl.MoveHz, wl.ChatPerSec, r.WindowS, r.Procs)
	p("joins        %d ok, %d failed, %d still connected at end; %.0f joins/s", r.Joined, r.JoinFailed, r.Present, r.JoinsPerSec)
	p("connect ms   p50 %.2f  p90 %.2f  p99 %.2f  max %.2f", r.ConnectTime.P50, r.ConnectTime.P90, r.ConnectTime.P99, r.ConnectTime.Max)
	if c := r.ControlTime; c.Count > 0 {
		p("control ms   p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (sign-in + join HTTP)", c.P50, c.P90, c.P99, c.Max)
	}
	p("join ms      p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (request -> in room)", r.JoinTime.P50, r.JoinTime.P90, r.JoinTime.P99, r.JoinTime.Max)
	if r.MovesSent > 0 {
		p("movement     %d sent of %d scheduled (send lag p99 %.1f ms), %d delivered (%.0f/s), %d repeats not counted", r.MovesSent, r.MovesTarget, r.MoveSendLag.P99, r.MovementDelivered, r.MovementPerSec, r.MovementRepeats)
		p("move lat ms  p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f", r.MoveLatency.P50, r.MoveLatency.P90, r.MoveLatency.P99, r.MoveLatency.P999, r.MoveLatency.Max)
		if b := r.BatchLatency; b.Count > 0 {
			p("  of which server stamp -> client, ms: p50 %.2f  p99 %.2f  max %.2f (%d frames)", b.P50, b.P99, b.Max, b.Count)
		}
	}
	if r.ChatsSent > 0 {
		p("chat         %d sent, %d/%d delivered (%.4f%%), dup %d, order %d, seq %d -> exactly-once in order: %v",
			r.ChatsSent, r.ChatUnique, r.ChatExpected, 100*r.ChatCompleteness, r.ChatDuplicates, r.ChatOrderViolations, r.ChatSeqRegressions, r.ChatExactlyOnceOK)
		p("chat lat ms  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f", r.ChatLatency.P50, r.ChatLatency.P90, r.ChatLatency.P99, r.ChatLatency.Max)
	}
	if s := r.Server; s != nil {
		p("server pid %d: RSS %d -> %d KiB after joins (%.0f B/conn), %d KiB at end", s.PID, s.RSSBeforeKiB, s.RSSJoinedKiB, s.RSSPerConnBytes, s.RSSEndKiB)
		if r.WindowS > 0 && (s.WriteCalls > 0 || s.ReadCalls > 0) {
			p("server I/O   %.0f write calls/s (%.0f B each), %.0f read calls/s", float64(s.WriteCalls)/r.WindowS,
				float64(s.BytesWritten)/float64(max(s.WriteCalls, 1)), float64(s.ReadCalls)/r.WindowS)
		}
		if s.RSSJoinedGCKiB > 0 {
			p("server RSS after forced GC: %d KiB (%.0f B/conn)", s.RSSJoinedGCKiB, s.RSSPerConnGCBytes)
		}
		p("server CPU   %.2f s in window (%.2f cores), %.3f s per million delivered updates; %.2f s during joins",
			s.CPUWindowSeconds, s.CPUCoresAvg, s.CPUPerMillionUpds, s.CPUJoinSeconds)
	}
	if r.WindowS > 0 {
		p("machine      %.2f cores busy in window (all processes); load average %s -> %s", r.MachineBusyCores, r.LoadAvgStart, r.LoadAvgEnd)
		p("loadgen CPU  %.2f s in window (%.2f cores, all workers)", r.LoadgenCPUSeconds, r.LoadgenCPUSeconds/r.WindowS)
	}
	if len(r.Events) > 0 {
		keys := make([]string, 0, len(r.Events))
		for k := range r.Events {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p("event        %-40s %d", k, r.Events[k])
		}
	}
	for k, v := range r.JoinErrorExamples {
		p("example      %s: %.200s", k, v)
	}
	if r.SendErrors > 0 {
		p("send errors  %d", r.SendErrors)
	}
}
