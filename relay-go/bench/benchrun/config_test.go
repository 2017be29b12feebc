package benchrun

import (
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		description string
		env         map[string]string
		check       func(Config) bool
		wantErr     string
	}{
		{"no knobs is a full make bench", nil, func(c Config) bool {
			return len(c.Only) == 4 && c.W1Duration == time.Minute && c.TickHz == 10 && c.Peer && !c.NoDocs && c.Pprof && c.W1Tick20 &&
				c.Budget == 1200*time.Second && c.HardLimit == 1680*time.Second && c.RelayPort == 18100 && c.W3Clients == 5000
		}, ""},
		{"the documented knobs are read", map[string]string{"PLAZA_BENCH_ONLY": "w1  w4", "PLAZA_BENCH_W1_DURATION": "3s", "PLAZA_BENCH_TICK": "20",
			"PLAZA_BENCH_W1_TICK20": "0", "PLAZA_BENCH_INTEREST": "12.5", "PLAZA_BENCH_NOTE": "shared machine", "PLAZA_BENCH_BUDGET": "60", "PLAZA_BENCH_HARD_LIMIT": "120"},
			func(c Config) bool {
				return strings.Join(c.Only, ",") == "w1,w4" && c.W1Duration == 3*time.Second && c.TickHz == 20 && !c.W1Tick20 &&
					c.Interest == 12.5 && c.Note == "shared machine" && c.Budget == time.Minute && c.HardLimit == 2*time.Minute
			}, ""},
		{"PEER=0 implies NO_DOCS", map[string]string{"PLAZA_BENCH_PEER": "0"}, func(c Config) bool { return !c.Peer && c.NoDocs }, ""},
		{"the bench's own port knob wins over the shared base", map[string]string{"PLAZA_RELAY_PORT_BASE": "19100", "PLAZA_BENCH_RELAY_PORT": "0"},
			func(c Config) bool { return c.RelayPort == 0 }, ""},
		{"an unknown workload is refused", map[string]string{"PLAZA_BENCH_ONLY": "w1 w5"}, nil, `unknown workload "w5"`},
		{"W3 clients come in rooms of 50", map[string]string{"PLAZA_BENCH_W3_CLIENTS": "120"}, nil, "multiple of 50"},
		{"a duration needs a unit", map[string]string{"PLAZA_BENCH_W4_DURATION": "30"}, nil, "PLAZA_BENCH_W4_DURATION"},
		{"a flag is 1 or 0", map[string]string{"PLAZA_BENCH_PPROF": "maybe"}, nil, "PLAZA_BENCH_PPROF"},
		{"the budget must end before the hard limit", map[string]string{"PLAZA_BENCH_BUDGET": "2000"}, nil, "PLAZA_BENCH_BUDGET"},
		{"every bad knob is reported at once", map[string]string{"PLAZA_BENCH_TICK": "x", "PLAZA_BENCH_ONLY": "w9"}, nil, "PLAZA_BENCH_TICK"},
	} {
		t.Run(tc.description, func(t *testing.T) {
			c, err := FromEnv("/repo", func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}
