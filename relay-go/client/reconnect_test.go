package client

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	top := func(n int64) int64 { return n - 1 } // the largest draw
	zero := func(int64) int64 { return 0 }
	for _, tc := range []struct {
		description string
		attempt     int
		hint        time.Duration
		rnd         func(int64) int64
		want        time.Duration
	}{
		{"first attempt waits below the base", 0, 0, top, BackoffBase - 1},
		{"each attempt doubles the ceiling", 3, 0, top, 2*time.Second - 1},
		{"the ceiling stops at the cap", 6, 0, top, BackoffMax - 1},
		{"a huge attempt neither overflows nor exceeds the cap", 1 << 30, 0, top, BackoffMax - 1},
		{"a negative attempt counts as the first", -3, 0, top, BackoffBase - 1},
		{"the smallest draw waits nothing without a hint", 5, 0, zero, 0},
		{"a hint is waited in full", 0, 1500 * time.Millisecond, zero, 1500 * time.Millisecond},
		{"jitter comes on top of the hint", 1, 2 * time.Second, top, 2*time.Second + 500*time.Millisecond - 1},
		{"a negative hint counts as none", 0, -time.Second, zero, 0},
	} {
		if got := Backoff(tc.attempt, tc.hint, tc.rnd); got != tc.want {
			t.Errorf("%s: Backoff(%d, %s) = %s, want %s", tc.description, tc.attempt, tc.hint, got, tc.want)
		}
	}
	for range 1000 {
		if d := Backoff(2, 0, nil); d < 0 || d >= time.Second {
			t.Fatalf("Backoff(2, 0, nil) = %s, outside [0, 1s)", d)
		}
	}
}

func TestCloseCodeAndTerminal(t *testing.T) {
	for _, tc := range []struct {
		description string
		kind        string
		code        int
		ok          bool
		terminal    bool
	}{
		{"kicked is terminal", "close_4107_Kicked", 4107, true, true},
		{"banned is terminal", "close_4108_Banned", 4108, true, true},
		{"abuse is terminal", "close_4106_Abuse", 4106, true, true},
		{"a drain means reconnect", "close_4006_Draining", 4006, true, false},
		{"a code without a name", "close_1001", 1001, true, false},
		{"a client bug is terminal", "close_1009_MessageTooBig", 1009, true, true},
		{"a dropped connection has no code", "conn_reset", 0, false, false},
		{"an HTTP failure has no code", "join_http_503", 0, false, false},
	} {
		code, ok := CloseCode(tc.kind)
		if code != tc.code || ok != tc.ok {
			t.Errorf("%s: CloseCode(%q) = %d, %v; want %d, %v", tc.description, tc.kind, code, ok, tc.code, tc.ok)
		}
		if ok && Terminal(code) != tc.terminal {
			t.Errorf("%s: Terminal(%d) = %v", tc.description, code, !tc.terminal)
		}
	}
}
