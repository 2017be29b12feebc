package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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
		{"a hint gets at most HintJitter on top", 0, 2 * time.Second, top, 2*time.Second + HintJitter - 1},
		{"a hint is not blurred by the attempt's backoff", 7, 2 * time.Second, top, 2*time.Second + HintJitter - 1},
		{"a millisecond hint stays a millisecond hint", 12, time.Millisecond, zero, time.Millisecond},
		{"a negative hint counts as none", 0, -time.Second, top, BackoffBase - 1},
	} {
		if got := Backoff(tc.attempt, tc.hint, tc.rnd); got != tc.want {
			t.Errorf("%s: Backoff(%d, %s) = %s, want %s", tc.description, tc.attempt, tc.hint, got, tc.want)
		}
	}
	for range 1000 {
		if d := Backoff(2, 0, nil); d < 0 || d >= time.Second {
			t.Fatalf("Backoff(2, 0, nil) = %s, outside [0, 1s)", d)
		}
		if d := Backoff(9, 300*time.Millisecond, nil); d < 300*time.Millisecond || d >= 300*time.Millisecond+HintJitter {
			t.Fatalf("Backoff(9, 300ms, nil) = %s, outside [300ms, 550ms)", d)
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

func TestRetryAfter(t *testing.T) {
	header := func(v string) http.Header {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		return h
	}
	for _, tc := range []struct {
		description string
		header      string
		body        string
		want        time.Duration
	}{
		{"the body's milliseconds win over the header's seconds", "2", `{"code":"overloaded","retry_after_ms":1375}`, 1375 * time.Millisecond},
		{"a body without retry_after_ms falls back to the header", "3", `{"code":"no-relay"}`, 3 * time.Second},
		{"a body that is no JSON falls back to the header", "1", `busy`, time.Second},
		{"a zero retry_after_ms is no hint; the header is used", "2", `{"retry_after_ms":0}`, 2 * time.Second},
		{"a non-integer retry_after_ms is ignored", "", `{"retry_after_ms":"soon"}`, 0},
		{"neither: no hint", "", `{}`, 0},
		{"an HTTP-date Retry-After is not understood: no hint", "Wed, 21 Oct 2026 07:28:00 GMT", ``, 0},
	} {
		if got := RetryAfter(header(tc.header), []byte(tc.body)); got != tc.want {
			t.Errorf("%s: RetryAfter = %s, want %s", tc.description, got, tc.want)
		}
	}
}

// TestJoinErrorCarriesHint: a 503 from a real HTTP server comes back as a
// JoinError with its status and the body's hint, and Attempts 1 does not
// retry.
func TestJoinErrorCarriesHint(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"type":"urn:plaza:problem:overloaded","status":503,"retry_after_ms":640}`))
	}))
	defer srv.Close()
	c := NewControl(srv.URL, "lobby")
	c.Attempts = 1
	_, err := c.JoinWith(context.Background(), "token", nil, JoinRequest{RoomID: "r1"})
	var je *JoinError
	if !errors.As(err, &je) {
		t.Fatalf("JoinWith error = %v, want a *JoinError", err)
	}
	if je.Kind != "join_http_503" || je.Status != 503 || je.Problem != "overloaded" || je.RetryAfter != 640*time.Millisecond {
		t.Fatalf("JoinError = kind %q status %d problem %q hint %s, want join_http_503 503 overloaded 640ms", je.Kind, je.Status, je.Problem, je.RetryAfter)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("Attempts 1 made %d requests", n)
	}
}
