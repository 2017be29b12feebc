package ecslog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestNewWritesECSFields(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelDebug, "plaza-relay").With("relay_id", "relay-a")
	log.Warn("room closed", "room", "r1", "err", errors.New("boom"))
	line := strings.TrimSpace(buf.String())
	var got map[string]any
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("not JSON: %q: %v", line, err)
	}
	want := map[string]any{
		"log.level": "warn", "message": "room closed", "service.name": "plaza-relay",
		"relay_id": "relay-a", "room": "r1", "error.message": "boom",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, got[k], v, line)
		}
	}
	for _, k := range []string{"time", "level", "msg", "err"} {
		if _, ok := got[k]; ok {
			t.Errorf("slog key %q left in %s", k, line)
		}
	}
	ts, _ := got["@timestamp"].(string)
	parsed, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || !strings.HasSuffix(ts, "Z") || time.Since(parsed) > time.Minute {
		t.Errorf("@timestamp %q is not a current RFC 3339 UTC time (%v)", ts, err)
	}
}

func TestLevelsAreFour(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.Level(-8), "plaza-relay")
	levels := []slog.Level{slog.Level(-8), slog.LevelDebug, slog.LevelInfo, slog.LevelInfo + 1, slog.LevelWarn, slog.LevelWarn + 2, slog.LevelError, slog.LevelError + 4}
	for _, l := range levels {
		log.Log(context.Background(), l, "x")
	}
	want := []string{"debug", "debug", "info", "info", "warn", "warn", "error", "error"}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if got["log.level"] != want[i] {
			t.Errorf("level %v: log.level %v, want %s", levels[i], got["log.level"], want[i])
		}
	}
	if strings.Join(Levels, ",") != "debug,info,warn,error" {
		t.Errorf("Levels = %v", Levels)
	}
}
