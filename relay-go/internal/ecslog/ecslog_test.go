package ecslog

import (
	"bytes"
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
