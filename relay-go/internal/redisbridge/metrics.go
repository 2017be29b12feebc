package redisbridge

import "github.com/prometheus/client_golang/prometheus"

// bridgeMetrics are the bridge's Prometheus metrics (docs/relay.md,
// "Metrics"), registered on the relay's registry by the caller.
type bridgeMetrics struct {
	up               prometheus.Gauge
	eventsWritten    prometheus.Counter
	eventsBuffered   prometheus.Gauge
	eventsDropped    prometheus.Counter
	errors           *prometheus.CounterVec
	commands         *prometheus.CounterVec
	heartbeats       prometheus.Counter
	heartbeatFails   prometheus.Counter
	heartbeatLost    prometheus.Counter
	snapshotsWritten prometheus.Counter
}

func newMetrics() *bridgeMetrics {
	const ns, sub = "plaza_relay", "redis"
	m := &bridgeMetrics{
		up:               prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "up", Help: "1 while Redis answers PING."}),
		eventsWritten:    prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "events_written_total", Help: "Room events XADDed to the events stream."}),
		eventsBuffered:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "events_buffered", Help: "Room events waiting to be written."}),
		eventsDropped:    prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "events_dropped_total", Help: "Room events dropped because the buffer was full (oldest first)."}),
		errors:           prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "errors_total", Help: "Failed Redis operations, by operation."}, []string{"op"}),
		commands:         prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "commands_received_total", Help: "Commands received on pub/sub, by kind (invalid, ignored = other relay)."}, []string{"kind"}),
		heartbeats:       prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "heartbeats_total", Help: "Heartbeats written."}),
		heartbeatFails:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "heartbeat_failures_total", Help: "Heartbeats that could not be written."}),
		heartbeatLost:    prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "heartbeat_lost_total", Help: "Times the relay found its own heartbeat key expired (its rooms may have moved)."}),
		snapshotsWritten: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "snapshots_written_total", Help: "Room state snapshots written."}),
	}
	for _, op := range redisOps {
		m.errors.WithLabelValues(op)
	}
	for _, k := range []string{"invalid", "ignored"} {
		m.commands.WithLabelValues(k)
	}
	return m
}

// redisOps are the operations redisError counts; each series starts at 0.
var redisOps = []string{"assignment", "assignment_check", "heartbeat", "snapshot_flush", "snapshot_load", "snapshot_save", "subscribe", "ticket_used", "world_config", "xadd"}

func (m *bridgeMetrics) all() []prometheus.Collector {
	return []prometheus.Collector{m.up, m.eventsWritten, m.eventsBuffered, m.eventsDropped, m.errors, m.commands, m.heartbeats, m.heartbeatFails, m.heartbeatLost, m.snapshotsWritten}
}
