package report

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plaza-dev/plaza/relay-go/bench/loadgen"
)

func TestReplaceSectionKeepsOthersAndFindings(t *testing.T) {
	doc := "# Benchmarks\n\n## Other\nkeep me\n\n" + SectionHeading + "\nold table\n\n" + FindingsHeading + "\nmy notes\n\n## Later\nalso keep\n"
	got := replaceSection(doc, SectionHeading+"\nnew table\n")
	want := "# Benchmarks\n\n## Other\nkeep me\n\n" + SectionHeading + "\nnew table\n\n" + FindingsHeading + "\nmy notes\n\n## Later\nalso keep\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := replaceSection("", SectionHeading+"\nx\n"); got != "# Benchmarks\n\n"+SectionHeading+"\nx\n" {
		t.Fatalf("empty doc: %q", got)
	}
}

// Write renders the section and every plot whose data is present, as PNGs
// of the documented sizes, from a run directory like benchrun leaves.
func TestWriteRendersSectionAndPlots(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	meta := Meta{Date: "2026-01-01T00:00Z", Commit: "abc", Nproc: "2", TickHz: 10, Skipped: map[string]string{"w3": "not asked for"}}
	writeJSON(t, filepath.Join(dir, "meta.json"), meta)
	for _, name := range []string{"w1-plaza", "w1-centrifugo", "w2-plaza"} {
		var h loadgen.Histogram
		for v := int64(500); v < 200_000; v += 500 {
			h.Record(v)
		}
		r := loadgen.Report{Target: name, Joined: 10, Present: 10, WindowS: 3, MoveLatencyHist: h.Snapshot(), ChatLatencyHist: h.Snapshot(),
			Server: &loadgen.ServerStats{CPUPerMillionUpds: 0.5, RSSPerConnBytes: 5000, WriteCalls: 100, CPUWindowSeconds: 1}}
		writeJSON(t, filepath.Join(dir, name+".json"), r)
	}
	md := filepath.Join(out, "benchmarks.md")
	if err := os.WriteFile(md, []byte("# Benchmarks\n\n## Earlier\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(out, "img")
	if err := Write(dir, md, img); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Earlier\nkept\n", SectionHeading, "![W1 movement latency CDF](img/bench-latency-w1.png)", "Not run: not asked for"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for file, size := range map[string]image.Point{
		"bench-latency-w1.png": {900, 520}, "bench-chat-latency-w1.png": {900, 520},
		"bench-cpu-per-update.png": {900, 460}, "bench-memory-per-conn.png": {900, 460},
	} {
		f, err := os.Open(filepath.Join(img, file))
		if err != nil {
			t.Error(err)
			continue
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != size.X || cfg.Height != size.Y {
			t.Errorf("%s: %dx%d (%v), want %dx%d", file, cfg.Width, cfg.Height, err, size.X, size.Y)
		}
	}
	if _, err := os.Stat(filepath.Join(img, "bench-latency-w4.png")); !os.IsNotExist(err) {
		t.Errorf("W4 plot without W4 data: %v", err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The egress and read-per-write rows are computed from the server's
// /proc I/O counters: bytes written per second of window (and per
// delivered movement update), read calls per write call.
func TestFanoutRowsEgressAndReadsPerWrite(t *testing.T) {
	r := &loadgen.Report{WindowS: 10, MovementPerSec: 1_000_000,
		Server: &loadgen.ServerStats{BytesWritten: 530_000_000, WriteCalls: 50_000, ReadCalls: 51_000}}
	cells := map[string]string{}
	for _, rw := range fanoutRows([]*loadgen.Report{r}) {
		cells[rw.name] = rw.vals[0]
	}
	for label, want := range map[string]string{
		"server egress, MB/s written to sockets (bytes per delivered movement update)": "53.00 (53.0 B)",
		"server read syscalls per write syscall":                                       "1.02",
	} {
		if got, ok := cells[label]; !ok || got != want {
			t.Errorf("%s = %q (present %v), want %q", label, got, ok, want)
		}
	}
	empty := fanoutRows([]*loadgen.Report{{}})
	for _, rw := range empty {
		if strings.HasPrefix(rw.name, "server egress") || strings.HasPrefix(rw.name, "server read syscalls") {
			if rw.vals[0] != "–" {
				t.Errorf("%s without server stats = %q, want –", rw.name, rw.vals[0])
			}
		}
	}
}
