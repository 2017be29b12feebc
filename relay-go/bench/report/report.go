// Package report turns a benchmark run directory (meta.json and one
// loadgen JSON report per workload and server) into the "Relay vs
// Centrifugo" section of docs/benchmarks.md and the PNG plots under
// docs/img/.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/plaza-dev/plaza/relay-go/bench/loadgen"
)

// Meta describes the machine and run that produced a set of reports;
// benchrun writes it as meta.json next to the per-workload JSON.
type Meta struct {
	Date              string            `json:"date"`
	Commit            string            `json:"commit"`
	Nproc             string            `json:"nproc"`
	Kernel            string            `json:"kernel"`
	GoVersion         string            `json:"go_version"`
	CPUModel          string            `json:"cpu_model"`
	LoadBefore        string            `json:"load_before"`
	TickHz            float64           `json:"tick_hz"`
	CentrifugoVersion string            `json:"centrifugo_version"`
	RelayFlags        string            `json:"relay_flags"`
	W3Heartbeat       string            `json:"w3_heartbeat"`
	Skipped           map[string]string `json:"skipped"`
	Notes             []string          `json:"notes"`
}

// SectionHeading is the docs/benchmarks.md section this tool owns.
const SectionHeading = "## Relay vs Centrifugo"

type benchSet struct {
	meta    Meta
	reports map[string]*loadgen.Report // by file stem: w1-plaza, w1-centrifugo, ...
	pprof   string
	heap    string
}

func loadBenchSet(dir string) (*benchSet, error) {
	bs := &benchSet{reports: map[string]*loadgen.Report{}}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("bench report: %w", err)
	}
	if err := json.Unmarshal(b, &bs.meta); err != nil {
		return nil, fmt.Errorf("bench report: meta.json: %w", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "w*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r loadgen.Report
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("bench report: %s: %w", f, err)
		}
		bs.reports[strings.TrimSuffix(filepath.Base(f), ".json")] = &r
	}
	if p, err := os.ReadFile(filepath.Join(dir, "relay-w1-pprof.txt")); err == nil {
		bs.pprof = string(p)
	}
	if p, err := os.ReadFile(filepath.Join(dir, "relay-w2-heap.txt")); err == nil {
		bs.heap = string(p)
	}
	return bs, nil
}

// Write renders the "Relay vs Centrifugo" section from the run directory
// dir into mdPath (replacing only that section, keeping the rest of the
// file) and draws the PNG plots into imgDir.
func Write(dir, mdPath, imgDir string) error {
	bs, err := loadBenchSet(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(mdPath), imgDir)
	if err != nil {
		rel = imgDir
	}
	plots, err := bs.plots(imgDir, rel)
	if err != nil {
		return err
	}
	section := bs.markdown(plots)
	old, err := os.ReadFile(mdPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.WriteFile(mdPath, []byte(replaceSection(string(old), section)), 0o644)
}

// replaceSection swaps the SectionHeading section of doc (up to the next
// "## " heading) for section, or appends it.
func replaceSection(doc, section string) string {
	if strings.TrimSpace(doc) == "" {
		doc = "# Benchmarks\n\n"
	}
	i := strings.Index(doc, SectionHeading+"\n")
	if i < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + section
	}
	rest := doc[i+len(SectionHeading)+1:]
	end := len(doc)
	if j := strings.Index(rest, "\n## "); j >= 0 {
		end = i + len(SectionHeading) + 1 + j + 1
	}
	// A hand-written "### Findings" subsection survives regeneration.
	if k := strings.Index(doc[i:end], "\n"+FindingsHeading+"\n"); k >= 0 {
		section = strings.TrimRight(section, "\n") + "\n" + strings.TrimRight(doc[i+k:end], "\n") + "\n"
	}
	tail := strings.TrimLeft(doc[end:], "\n")
	if tail != "" {
		section = strings.TrimRight(section, "\n") + "\n\n"
	}
	return doc[:i] + section + tail
}

// FindingsHeading starts the hand-written part of the section (analysis of
// the numbers, profiles); Write keeps it when it regenerates.
const FindingsHeading = "### Findings"

func (bs *benchSet) r(name string) *loadgen.Report { return bs.reports[name] }

func f2(v float64) string { return fmt.Sprintf("%.2f", v) }
func f3(v float64) string { return fmt.Sprintf("%.3f", v) }
func f0(v float64) string { return fmt.Sprintf("%.0f", v) }

// ratio is a/b formatted, "–" when it has no meaning.
func ratio(a, b float64) string {
	if b == 0 || a == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func metOrMissed(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

type row struct {
	name string
	vals []string
}

func table(b *strings.Builder, head []string, rows []row) {
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + r.name + " | " + strings.Join(r.vals, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// get returns a formatted value of r or "n/a" when r is missing.
func get(r *loadgen.Report, f func(*loadgen.Report) string) string {
	if r == nil {
		return "n/a"
	}
	return f(r)
}

func srv(r *loadgen.Report) *loadgen.ServerStats {
	if r == nil || r.Server == nil {
		return &loadgen.ServerStats{}
	}
	return r.Server
}

func chatCell(r *loadgen.Report) string {
	if r.ChatsSent == 0 {
		return "–"
	}
	return fmt.Sprintf("%.4f%% (%d/%d, dup %d, order %d)", 100*r.ChatCompleteness, r.ChatUnique, r.ChatExpected, r.ChatDuplicates, r.ChatOrderViolations+r.ChatSeqRegressions)
}

func eventsCell(r *loadgen.Report) string {
	if len(r.Events) == 0 && r.JoinFailed == 0 {
		return "none"
	}
	keys := make([]string, 0, len(r.Events))
	for k := range r.Events {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.Events[k]))
	}
	return strings.Join(parts, ", ")
}

// fanoutRows are the rows shared by W1 and W4 tables.
func fanoutRows(rs []*loadgen.Report) []row {
	col := func(f func(*loadgen.Report) string) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = get(r, f)
		}
		return out
	}
	return []row{
		{"members joined / still connected", col(func(r *loadgen.Report) string { return fmt.Sprintf("%d / %d", r.Joined, r.Present) })},
		{"moves sent / scheduled (sender lag p99, ms)", col(func(r *loadgen.Report) string {
			return fmt.Sprintf("%d / %d (%.1f)", r.MovesSent, r.MovesTarget, r.MoveSendLag.P99)
		})},
		{"movement updates delivered per s", col(func(r *loadgen.Report) string { return f0(r.MovementPerSec) })},
		{"repeated updates received (not counted as delivered)", col(func(r *loadgen.Report) string { return fmt.Sprint(r.MovementRepeats) })},
		{"server CPU, cores (avg over window)", col(func(r *loadgen.Report) string { return f2(srv(r).CPUCoresAvg) })},
		{"server write syscalls per s (bytes per write)", col(func(r *loadgen.Report) string {
			s := srv(r)
			if r.WindowS == 0 || s.WriteCalls == 0 {
				return "–"
			}
			return fmt.Sprintf("%.0f (%.0f B)", float64(s.WriteCalls)/r.WindowS, float64(s.BytesWritten)/float64(s.WriteCalls))
		})},
		{"server egress, MB/s written to sockets (bytes per delivered movement update)", col(func(r *loadgen.Report) string {
			s := srv(r)
			if r.WindowS == 0 || s.BytesWritten == 0 {
				return "–"
			}
			cell := fmt.Sprintf("%.2f", float64(s.BytesWritten)/r.WindowS/1e6)
			if r.MovementPerSec > 0 {
				cell += fmt.Sprintf(" (%.1f B)", float64(s.BytesWritten)/r.WindowS/r.MovementPerSec)
			}
			return cell
		})},
		{"server read syscalls per write syscall", col(func(r *loadgen.Report) string {
			s := srv(r)
			if s.WriteCalls == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f", float64(s.ReadCalls)/float64(s.WriteCalls))
		})},
		{"server CPU µs per write syscall, all work included", col(func(r *loadgen.Report) string {
			s := srv(r)
			if s.WriteCalls == 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f", s.CPUWindowSeconds/float64(s.WriteCalls)*1e6)
		})},
		{"**server CPU s per million delivered updates**", col(func(r *loadgen.Report) string { return f3(srv(r).CPUPerMillionUpds) })},
		{"movement latency p50 / p90 / p99 / max, ms", col(func(r *loadgen.Report) string {
			l := r.MoveLatency
			return fmt.Sprintf("%.1f / %.1f / **%.1f** / %.0f", l.P50, l.P90, l.P99, l.Max)
		})},
		{"movement frame, server stamp → client p50 / p99, ms", col(func(r *loadgen.Report) string {
			if r.BatchLatency.Count == 0 {
				return "– (no server stamp)"
			}
			return fmt.Sprintf("%.1f / %.1f", r.BatchLatency.P50, r.BatchLatency.P99)
		})},
		{"chat latency p50 / p99, ms", col(func(r *loadgen.Report) string {
			return fmt.Sprintf("%.1f / %.1f", r.ChatLatency.P50, r.ChatLatency.P99)
		})},
		{"chat delivered exactly once, in order", col(chatCell)},
		{"join time p50 / p99, ms", col(func(r *loadgen.Report) string { return fmt.Sprintf("%.1f / %.1f", r.JoinTime.P50, r.JoinTime.P99) })},
		{"load generator CPU, cores (same machine)", col(func(r *loadgen.Report) string {
			if r.WindowS == 0 {
				return "–"
			}
			return f2(r.LoadgenCPUSeconds / r.WindowS)
		})},
		{"machine: busy cores (of nproc) / load average at window end", col(func(r *loadgen.Report) string {
			return fmt.Sprintf("%.2f / %s", r.MachineBusyCores, r.LoadAvgEnd)
		})},
		{"server RSS at end, MiB", col(func(r *loadgen.Report) string { return f0(float64(srv(r).RSSEndKiB) / 1024) })},
		{"errors / events", col(eventsCell)},
	}
}

func (bs *benchSet) markdown(plots []string) string {
	m := bs.meta
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	p("%s", SectionHeading)
	p("")
	p("Generated by `make bench` (`relay-go/bench/cmd/benchrun`) on %s from commit `%s`. Workloads: [benchmarks-workloads.md](benchmarks-workloads.md).", m.Date, m.Commit)
	p("Machine: `nproc` = %s, CPU %s, kernel `%s`, `%s`; load average before the run: %s.", m.Nproc, m.CPUModel, m.Kernel, m.GoVersion, m.LoadBefore)
	p("The load generator (`relay-go/bench/cmd/loadgen`) runs on the same machine as the server, so every number includes contention with it;")
	p("servers run one at a time, each freshly started per workload. The peer (%s) is built from its Go module by `scripts/install_centrifugo.sh`", m.CentrifugoVersion)
	p("and driven through its Protobuf client protocol (`relay-go/bench/centrifugoadapter`); a room is a channel, every member publishes its moves (10 Hz) and chat into it.")
	p("Relay flags: `%s` (tick %.0f Hz).", m.RelayFlags, m.TickHz)
	for _, n := range m.Notes {
		p("")
		p("> %s", n)
	}
	p("")
	p("\"Delivered updates\" = avatar movement updates received by members (one avatar in a Plaza `MovementBatch`, one publication in Centrifugo) plus chat lines received. CPU is utime+stime of the server process over the measured window, from `/proc/<pid>/stat`; RSS is `VmRSS` from `/proc/<pid>/status`.")
	p("")

	w1p, w1c := bs.r("w1-plaza"), bs.r("w1-centrifugo")
	w2p, w2c := bs.r("w2-plaza"), bs.r("w2-centrifugo")
	p("### Targets")
	p("")
	var rows []row
	tickMs := 1000 / max(m.TickHz, 1)
	if w1p != nil && w1c != nil {
		a, c := srv(w1p).CPUPerMillionUpds, srv(w1c).CPUPerMillionUpds
		rows = append(rows, row{"W1 relay CPU per delivered update ≤ 1/5 of Centrifugo's", []string{f3(a) + " s/M", f3(c) + " s/M", ratio(a, c), metOrMissed(a > 0 && c > 0 && a <= c/5)}})
	} else {
		rows = append(rows, row{"W1 relay CPU per delivered update ≤ 1/5 of Centrifugo's", []string{get(w1p, func(r *loadgen.Report) string { return f3(srv(r).CPUPerMillionUpds) }), get(w1c, func(r *loadgen.Report) string { return f3(srv(r).CPUPerMillionUpds) }), "–", "not measured"}})
	}
	if w1p != nil {
		lim := tickMs + 10
		rows = append(rows, row{fmt.Sprintf("W1 p99 movement latency ≤ tick (%.0f ms) + 10 ms = %.0f ms", tickMs, lim), []string{f2(w1p.MoveLatency.P99) + " ms", get(w1c, func(r *loadgen.Report) string { return f2(r.MoveLatency.P99) + " ms" }), get(w1c, func(r *loadgen.Report) string { return ratio(w1p.MoveLatency.P99, r.MoveLatency.P99) }), metOrMissed(w1p.MoveLatency.P99 <= lim)}})
		if t20 := bs.r("w1-plaza-tick20"); t20 != nil {
			rows = append(rows, row{"W1 at the relay's default 20 Hz tick: p99 movement latency ≤ 50 + 10 = 60 ms", []string{f2(t20.MoveLatency.P99) + " ms", "–", "–", metOrMissed(t20.MoveLatency.P99 <= 60)}})
			if w1c != nil {
				a, c := srv(t20).CPUPerMillionUpds, srv(w1c).CPUPerMillionUpds
				rows = append(rows, row{"W1 at 20 Hz tick: relay CPU per delivered update ≤ 1/5 of Centrifugo's", []string{f3(a) + " s/M", f3(c) + " s/M", ratio(a, c), metOrMissed(a > 0 && c > 0 && a <= c/5)}})
			}
		}
		rows = append(rows, row{"W1 chat 100% delivered exactly once, in order", []string{chatCell(w1p), get(w1c, chatCell), "–", metOrMissed(w1p.ChatExactlyOnceOK && w1p.ChatExpected > 0)}})
	}
	if w2p != nil {
		a := srv(w2p).RSSPerConnBytes
		c := srv(w2c).RSSPerConnBytes
		ok := a < 8192 && (c == 0 || a <= c/4)
		rows = append(rows, row{"W2 RSS per idle connection < 8 KiB and ≤ 1/4 of Centrifugo's", []string{f0(a) + " B", get(w2c, func(*loadgen.Report) string { return f0(c) + " B" }), ratio(a, c), metOrMissed(ok && c > 0)}})
	}
	table(&b, []string{"target", "Plaza", "Centrifugo", "Plaza/Centrifugo", "result"}, rows)

	w4on, w4off, w4c := bs.r("w4-plaza-im-on"), bs.r("w4-plaza-im-off"), bs.r("w4-centrifugo")
	p("### W1 room fan-out (20 rooms x 50 members, move 10 Hz, chat 0.2/s/member, %s window)", windowOf(w1p, w1c))
	p("")
	if w1p == nil && w1c == nil {
		p("Not run: %s", bs.skipReason("w1"))
		p("")
	} else {
		head := []string{"W1", fmt.Sprintf("Plaza (tick %.0f Hz)", m.TickHz), "Centrifugo", "Plaza/Centrifugo"}
		cols := []*loadgen.Report{w1p, w1c}
		w1p20 := bs.r("w1-plaza-tick20")
		if w1p20 != nil {
			head = append(head, "Plaza, tick 20 Hz")
			cols = append(cols, w1p20)
		}
		rows := fanoutRows(cols)
		for i := range rows {
			r := append(rows[i].vals[:2:2], ratioCell(rows[i].name, w1p, w1c))
			rows[i].vals = append(r, rows[i].vals[2:]...)
		}
		table(&b, head, rows)
	}

	p("### W2 idle connections (15,000 joined, nothing sent)")
	p("")
	if w2p == nil && w2c == nil {
		p("Not run: %s", bs.skipReason("w2"))
		p("")
	} else {
		col := func(f func(*loadgen.Report) string) []string {
			return []string{get(w2p, f), get(w2c, f), ratio(num(w2p, f), num(w2c, f))}
		}
		table(&b, []string{"W2", "Plaza", "Centrifugo", "Plaza/Centrifugo"}, []row{
			{"connections joined", col(func(r *loadgen.Report) string { return fmt.Sprint(r.Joined) })},
			{"server RSS before / after joins, MiB", []string{get(w2p, rssBA), get(w2c, rssBA), "–"}},
			{"**RSS per idle connection, bytes**", col(func(r *loadgen.Report) string { return f0(srv(r).RSSPerConnBytes) })},
			{"RSS per idle connection after a forced GC, bytes", col(func(r *loadgen.Report) string { return f0(srv(r).RSSPerConnGCBytes) })},
			{"joins per s (64 joins in flight per loadgen worker)", col(func(r *loadgen.Report) string { return f0(r.JoinsPerSec) })},
			{"join time p50 / p99, ms", []string{get(w2p, joinCell), get(w2c, joinCell), "–"}},
			{"server CPU s for all joins", col(func(r *loadgen.Report) string { return f2(srv(r).CPUJoinSeconds) })},
			{"errors / events", []string{get(w2p, eventsCell), get(w2c, eventsCell), "–"}},
		})
	}

	p("### W3 join storm (5,000 clients sign in and join through the control plane)")
	p("")
	if w3 := bs.r("w3-plaza"); w3 != nil {
		table(&b, []string{"W3", "Plaza (control plane + relay)"}, []row{
			{"joined / failed", []string{fmt.Sprintf("%d / %d", w3.Joined, w3.JoinFailed)}},
			{"**joins per s**", []string{f0(w3.JoinsPerSec)}},
			{"request → Welcome p50 / p90 / p99 / max, ms", []string{fmt.Sprintf("%.1f / %.1f / **%.1f** / %.0f", w3.JoinTime.P50, w3.JoinTime.P90, w3.JoinTime.P99, w3.JoinTime.Max)}},
			{"of which sign-in + join HTTP p50 / p99, ms", []string{fmt.Sprintf("%.1f / %.1f", w3.ControlTime.P50, w3.ControlTime.P99)}},
			{"of which WebSocket connect p50 / p99, ms", []string{fmt.Sprintf("%.1f / %.1f", w3.ConnectTime.P50, w3.ConnectTime.P99)}},
			{"relay CPU s during the whole join phase (joins, room ticks, keep-alives)", []string{f2(srv(w3).CPUJoinSeconds)}},
			{"errors / events", []string{eventsCell(w3)}},
		})
		p("Stack: Redis + FerretDB (`scripts/services.sh`), the control plane (`python -m plaza_control serve`, defaults, per-IP/user rate limits raised for the storm), one relay; relay heartbeat in Redis: %s. Each client: guest sign-in (a new user), join, WebSocket + Hello → Welcome; 16 clients in flight per loadgen worker.", bs.meta.W3Heartbeat)
		p("")
		p("Centrifugo has no join service to compare with (its connection tokens are minted by the application), so W3 is Plaza only.")
		p("")
	} else {
		p("Not run: %s", bs.skipReason("w3"))
		p("")
	}

	p("### W4 big room (1 room x 500 members, move 10 Hz, 200 m x 200 m, %s window)", windowOf(w4on, w4off, w4c))
	p("")
	if w4on == nil && w4off == nil && w4c == nil {
		p("Not run: %s", bs.skipReason("w4"))
		p("")
	} else {
		table(&b, []string{"W4", "Plaza, interest on", "Plaza, interest off", "Centrifugo"}, fanoutRows([]*loadgen.Report{w4on, w4off, w4c}))
		if w4on != nil {
			p("Interest radius with interest on: %.0f m (avatars farther away are sent every Nth tick only, see `--far-every-ticks`).", w4on.Workload.InterestRadius)
			p("")
		}
	}

	p("### Physical floor")
	p("")
	p("[decisions/002-websocket-library.md](decisions/002-websocket-library.md) measures the floor on this machine: one write syscall to a loopback")
	p("TCP socket costs ≈ 4–6 µs of CPU (100 B – 1 KiB), and a WebSocket library adds little on top. The relay cannot deliver an update for less")
	p("than its share of one write per member per tick; in W1 each MovementBatch carries ~49 avatars, so the floor per *update* is ~0.1 µs.")
	p("W1 also makes the relay read one client message per write, and a paced receive costs more than a write: [decisions/018](decisions/018-relay-floor-and-tick-phases.md)")
	p("takes the floor of *CPU per write, all work included* as one raw write of W1's frame size plus one paced receive of its message size,")
	p("2.8 + 7.8 ≈ 10.6 µs on this machine (`wslibbench`, 2026-12-01).")
	if w1p != nil && srv(w1p).WriteCalls > 0 {
		s := srv(w1p)
		p("Measured in W1 (Plaza, tick %.0f Hz): %.0f write syscalls/s of %.0f B, **%.1f µs of relay CPU per write syscall, all work included** (the reads of every client message, tick, encode, queue, write),",
			m.TickHz, float64(s.WriteCalls)/w1p.WindowS, float64(s.BytesWritten)/float64(s.WriteCalls), s.CPUWindowSeconds/float64(s.WriteCalls)*1e6)
		p("i.e. %.1f× the raw write's upper end (6 µs) and %.1f× decision 018's write + paced receive (10.6 µs); %.2f writes per member per tick (1.00: a tick's batch and the chat/presence frames since the last tick share one write, decision 005).",
			s.CPUWindowSeconds/float64(s.WriteCalls)*1e6/6, s.CPUWindowSeconds/float64(s.WriteCalls)*1e6/10.6, float64(s.WriteCalls)/(float64(max(w1p.Present, 1))*m.TickHz*w1p.WindowS))
	}
	p("")
	if bs.pprof != "" {
		p("### Where the relay spends its CPU in W1 (pprof, 20 s during the window)")
		p("")
		p("```")
		b.WriteString(strings.TrimRight(bs.pprof, "\n") + "\n")
		p("```")
		p("")
	}
	if bs.heap != "" {
		p("### What the relay's memory holds in W2 (heap in use after GC, 15,000 idle sessions)")
		p("")
		p("```")
		b.WriteString(strings.TrimRight(bs.heap, "\n") + "\n")
		p("```")
		p("")
	}
	if len(plots) > 0 {
		p("### Plots")
		p("")
		for _, pl := range plots {
			p("%s", pl)
			p("")
		}
	}
	return b.String()
}

func (bs *benchSet) skipReason(w string) string {
	if r, ok := bs.meta.Skipped[w]; ok {
		return r
	}
	return "no result file"
}

func rssBA(r *loadgen.Report) string {
	s := srv(r)
	return fmt.Sprintf("%.0f / %.0f", float64(s.RSSBeforeKiB)/1024, float64(s.RSSJoinedKiB)/1024)
}

func joinCell(r *loadgen.Report) string {
	return fmt.Sprintf("%.1f / %.1f", r.JoinTime.P50, r.JoinTime.P99)
}

// num parses back a formatted single number (for ratios); 0 when not one.
func num(r *loadgen.Report, f func(*loadgen.Report) string) float64 {
	if r == nil {
		return 0
	}
	var v float64
	if _, err := fmt.Sscan(f(r), &v); err != nil {
		return 0
	}
	return v
}

// ratioCell gives Plaza/Centrifugo for the W1 rows where a ratio means something.
func ratioCell(name string, a, c *loadgen.Report) string {
	if a == nil || c == nil {
		return "–"
	}
	switch {
	case strings.Contains(name, "CPU s per million"):
		return "**" + ratio(srv(a).CPUPerMillionUpds, srv(c).CPUPerMillionUpds) + "**"
	case strings.HasPrefix(name, "server CPU, cores"):
		return ratio(srv(a).CPUCoresAvg, srv(c).CPUCoresAvg)
	case strings.Contains(name, "delivered per s"):
		return ratio(a.MovementPerSec, c.MovementPerSec)
	case strings.Contains(name, "movement latency"):
		return ratio(a.MoveLatency.P99, c.MoveLatency.P99) + " (p99)"
	case strings.Contains(name, "chat latency"):
		return ratio(a.ChatLatency.P99, c.ChatLatency.P99) + " (p99)"
	case strings.HasPrefix(name, "server RSS"):
		return ratio(float64(srv(a).RSSEndKiB), float64(srv(c).RSSEndKiB))
	}
	return "–"
}

// plots draws the PNGs and returns their markdown image lines.
func (bs *benchSet) plots(imgDir, rel string) ([]string, error) {
	var out []string
	cdf := func(file, title string, names []string, labels []string, chat bool) error {
		var series []Series
		for i, n := range names {
			r := bs.r(n)
			if r == nil {
				continue
			}
			h := r.MoveLatencyHist
			if chat {
				h = r.ChatLatencyHist
			}
			pts := h.CDF()
			for j := range pts {
				pts[j][0] /= 1000 // µs -> ms
			}
			if len(pts) > 0 {
				series = append(series, Series{Name: labels[i], Points: pts})
			}
		}
		if len(series) == 0 {
			return nil
		}
		if err := PlotCDF(filepath.Join(imgDir, file), title, "latency, ms (log scale); y: percentile of deliveries", series); err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("![%s](%s)", title, filepath.ToSlash(filepath.Join(rel, file))))
		return nil
	}
	if err := cdf("bench-latency-w1.png", "W1 movement latency CDF", []string{"w1-plaza", "w1-centrifugo", "w1-plaza-tick20"}, []string{fmt.Sprintf("Plaza relay, tick %.0f Hz", bs.meta.TickHz), "Centrifugo", "Plaza relay, tick 20 Hz"}, false); err != nil {
		return nil, err
	}
	if err := cdf("bench-chat-latency-w1.png", "W1 chat latency CDF", []string{"w1-plaza", "w1-centrifugo"}, []string{"Plaza relay", "Centrifugo"}, true); err != nil {
		return nil, err
	}
	if err := cdf("bench-latency-w4.png", "W4 movement latency CDF (500 in one room)", []string{"w4-plaza-im-on", "w4-plaza-im-off", "w4-centrifugo"}, []string{"Plaza interest on", "Plaza interest off", "Centrifugo"}, false); err != nil {
		return nil, err
	}
	var cpu []Bar
	for _, x := range []struct{ n, l string }{{"w1-plaza", "W1 Plaza"}, {"w1-plaza-tick20", "W1 Plaza 20Hz"}, {"w1-centrifugo", "W1 Centrifugo"}, {"w4-plaza-im-on", "W4 Plaza IM on"}, {"w4-plaza-im-off", "W4 Plaza IM off"}, {"w4-centrifugo", "W4 Centrifugo"}} {
		if r := bs.r(x.n); r != nil && r.Server != nil {
			cpu = append(cpu, Bar{Label: x.l, Value: r.Server.CPUPerMillionUpds})
		}
	}
	if len(cpu) > 0 {
		if err := PlotBars(filepath.Join(imgDir, "bench-cpu-per-update.png"), "Server CPU per million delivered updates", "CPU seconds (lower is better)", cpu); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("![CPU per update](%s)", filepath.ToSlash(filepath.Join(rel, "bench-cpu-per-update.png"))))
	}
	var mem []Bar
	for _, x := range []struct{ n, l string }{{"w2-plaza", "Plaza relay"}, {"w2-centrifugo", "Centrifugo"}} {
		if r := bs.r(x.n); r != nil && r.Server != nil {
			mem = append(mem, Bar{Label: x.l, Value: r.Server.RSSPerConnBytes / 1024})
		}
	}
	if len(mem) > 0 {
		if err := PlotBars(filepath.Join(imgDir, "bench-memory-per-conn.png"), "W2 resident memory per idle connection", "KiB per connection (lower is better)", mem); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("![memory per connection](%s)", filepath.ToSlash(filepath.Join(rel, "bench-memory-per-conn.png"))))
	}
	return out, nil
}

// windowOf is the measured window of the first report present, e.g. "60 s".
func windowOf(rs ...*loadgen.Report) string {
	for _, r := range rs {
		if r != nil {
			return fmt.Sprintf("%.0f s", r.WindowS)
		}
	}
	return "no"
}
