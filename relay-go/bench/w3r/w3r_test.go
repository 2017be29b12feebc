package w3r

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTimelineBuckets(t *testing.T) {
	start := time.Unix(1000, 0)
	tl := newTimeline(start, 100*time.Millisecond, time.Second)
	for _, ms := range []int{-5, 0, 99, 100, 250, 999, 1000, 5000} {
		tl.add(start.Add(time.Duration(ms) * time.Millisecond))
	}
	got := tl.upTo(100)
	// before the start counts in the first bucket, past the span in the last
	want := []int64{3, 1, 1, 0, 0, 0, 0, 0, 0, 1, 2}
	if len(got) != len(want) {
		t.Fatalf("upTo(100) has %d buckets, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("buckets = %v, want %v", got, want)
		}
	}
	if n := len(tl.upTo(3)); n != 3 {
		t.Fatalf("upTo(3) has %d buckets", n)
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want float64
	}{{0.5, 5}, {0.99, 10}, {1, 10}, {0.1, 1}} {
		if got := quantile(append([]float64(nil), v...), tc.q); got != tc.want {
			t.Errorf("quantile(q=%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestConfigCheck(t *testing.T) {
	ok := Config{ControlURLs: []string{"http://x"}, World: "lobby", Players: 10, SeatConcurrency: 4, StateKey: "w3r", Deadline: time.Second}
	if err := ok.check(); err != nil {
		t.Fatalf("a valid config: %v", err)
	}
	if ok.Bucket != 100*time.Millisecond || ok.Rounds != 1 || ok.Settle != time.Second {
		t.Fatalf("defaults not applied: %+v", ok)
	}
	for name, mutate := range map[string]func(*Config){
		"no control":     func(c *Config) { c.ControlURLs = nil },
		"no players":     func(c *Config) { c.Players = 0 },
		"no concurrency": func(c *Config) { c.SeatConcurrency = 0 },
		"no deadline":    func(c *Config) { c.Deadline = 0 },
		"no state key":   func(c *Config) { c.StateKey = "" },
		"too many addrs": func(c *Config) { c.SourceAddrs = 251 },
	} {
		c := ok
		mutate(&c)
		if err := c.check(); err == nil {
			t.Errorf("%s: check accepted %+v", name, c)
		}
	}
	if ip := ok.sourceIP(7).String(); ip != "127.0.0.1" {
		t.Errorf("one source address: player 7 from %s", ip)
	}
	ok.SourceAddrs = 4
	if ip := ok.sourceIP(7).String(); ip != "127.0.0.4" {
		t.Errorf("four source addresses: player 7 from %s", ip)
	}
}

func TestPlotWritesAPNG(t *testing.T) {
	dir := t.TempDir()
	r := Result{BucketMs: 100, Welcomes: []int64{0, 5, 9, 3}, Refused503: []int64{2, 0, 0, 0}, JoinRequestT: []int64{7, 5, 9, 3}, FailuresT: []int64{0, 0, 0, 0}}
	b, _ := json.Marshal(r)
	in := filepath.Join(dir, "r.json")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "storm.png")
	if err := Plot(in, out, "test"); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("no PNG written (%v)", err)
	}
	if err := os.WriteFile(in, []byte(`{"players": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Plot(in, out, "test"); err == nil {
		t.Fatal("Plot accepted a result without buckets")
	}
}

func TestMovingAverage(t *testing.T) {
	got := movingAverage([]int64{0, 10, 0, 0, 5}, 3)
	want := []float64{5, 10.0 / 3, 10.0 / 3, 5.0 / 3, 2.5}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-9 || d < -1e-9 {
			t.Fatalf("movingAverage = %v, want %v", got, want)
		}
	}
	if got := movingAverage([]int64{4, 8}, 1); got[0] != 4 || got[1] != 8 {
		t.Fatalf("a window of 1 changed the counts: %v", got)
	}
}
