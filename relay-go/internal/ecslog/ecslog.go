// Package ecslog makes the JSON loggers of Plaza's Go programs: log/slog's
// JSON handler with its keys renamed to Elastic Common Schema names.
package ecslog

import (
	"io"
	"log/slog"
	"time"
)

// New returns a JSON logger writing to w: one object per line, with the
// Elastic Common Schema names ElasticSearch and Kibana map without a custom
// template — `@timestamp` (RFC 3339, UTC), `log.level` (one of Levels),
// `message`, `service.name`, and an error under `error.message` (ECS makes
// `error` an object, so a plain string `error`/`err` would clash with it).
// Keys are dotted, not nested: ElasticSearch expands dots into objects.
// service is the ECS service.name of every line (plaza-relay, ...); level
// nil means Info.
func New(w io.Writer, level slog.Leveler, service string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: ecsAttr})
	return slog.New(h).With("service.name", service)
}

// ecsAttr renames slog's built-in keys (and the error key) to their ECS names.
func ecsAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if t, ok := a.Value.Any().(time.Time); ok {
			return slog.String("@timestamp", t.UTC().Format(time.RFC3339Nano))
		}
		a.Key = "@timestamp"
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String("log.level", levelName(l))
		}
		a.Key = "log.level"
	case slog.MessageKey:
		a.Key = "message"
	case "err", "error":
		a.Key = "error.message"
	}
	return a
}

// Levels are the log.level values, the same four as the control plane's
// (plaza_control.observability.LOG_LEVELS): one query finds the warnings of
// both programs.
var Levels = []string{"debug", "info", "warn", "error"}

// levelName is the log.level of l: a level between two named ones (slog
// allows LevelWarn+2) takes the lower one's name.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	default:
		return "debug"
	}
}
