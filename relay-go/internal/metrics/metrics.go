// Package metrics defines the relay's Prometheus metrics (docs/relay.md).
package metrics

import (
	"runtime/debug"
	"strconv"
	"strings"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
)

// Metrics holds every relay metric. Hot-path counters are resolved per
// label once (Kind) so counting costs an atomic add, not a map lookup.
//
// Label values are snake_case everywhere (message kinds, close reasons,
// error codes), as on the control plane: "chat_send", "slow_consumer".
// Only series that can become non-zero exist: "in" kinds are the client ->
// relay messages, "out" kinds the relay -> client ones; every close code,
// error code and ticket rejection reason is created at zero.
type Metrics struct {
	Registry *prometheus.Registry

	Connections      prometheus.Gauge
	Sessions         prometheus.Gauge
	Rooms            prometheus.Gauge
	Draining         prometheus.Gauge
	MaxConnections   prometheus.Gauge
	BuildInfo        *prometheus.GaugeVec
	MessagesIn       *prometheus.CounterVec
	BytesIn          *prometheus.CounterVec
	MessagesOut      *prometheus.CounterVec
	BytesOut         *prometheus.CounterVec
	TickDuration     prometheus.Histogram
	SendQueueDrops   *prometheus.CounterVec
	SlowConsumers    prometheus.Counter
	RoomBacklogged   prometheus.Counter
	TicketRejections *prometheus.CounterVec
	Closes           *prometheus.CounterVec
	ErrorsSent       *prometheus.CounterVec
	EventsPublished  prometheus.Counter
	Commands         *prometheus.CounterVec

	in, inBytes, out, outBytes [256]prometheus.Counter
	dropMovement               prometheus.Counter
	closes                     map[common.CloseCode]prometheus.Counter
	errorsSent                 map[common.ErrorCode]prometheus.Counter
}

// New creates the metrics in a fresh registry that also holds the Go
// runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	const ns = "plaza_relay"
	m := &Metrics{Registry: r}
	m.Connections = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "connections", Help: "Open WebSocket connections (joined or not)."})
	m.Sessions = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "sessions", Help: "Sessions joined to a room."})
	m.Rooms = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "rooms", Help: "Open rooms."})
	m.Draining = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "draining", Help: "1 while the relay drains."})
	m.MaxConnections = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "max_connections", Help: "Connection capacity (--max-connections); connections / max_connections is the capacity in use."})
	m.BuildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plaza_build_info", Help: "Always 1; the labels name the running build.", ConstLabels: prometheus.Labels{"program": "relay"}}, []string{"version", "commit"})
	m.MessagesIn = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_in_total", Help: "Client frames received, by message kind (invalid = undecodable, unknown or not a client message)."}, []string{"kind"})
	m.BytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_in_bytes_total", Help: "Client frame payload bytes received, by message kind."}, []string{"kind"})
	m.MessagesOut = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_out_total", Help: "Frames written to sockets, by message kind."}, []string{"kind"})
	m.BytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_out_bytes_total", Help: "Frame payload bytes written to sockets, by message kind."}, []string{"kind"})
	m.TickDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "tick_duration_seconds", Help: "Time one room tick takes (collect, interest, encode, enqueue, and the socket writes it flushes).",
		Buckets: []float64{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05}})
	m.SendQueueDrops = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "send_queue_drops_total", Help: "Frames dropped from send queues (movement: replaced by a newer batch)."}, []string{"kind"})
	m.SlowConsumers = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "slow_consumer_closes_total", Help: "Sessions closed because their reliable send queue overflowed."})
	m.RoomBacklogged = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "room_backlogged_total", Help: "Times a session's chat/emote/state input found its room's inbox full and waited in the session's backlog."})
	m.TicketRejections = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "ticket_rejections_total", Help: "Refused join tickets, by reason."}, []string{"reason"})
	m.Closes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "closes_total", Help: "Connections the relay closed, by close code and its CloseCode name."}, []string{"code", "reason"})
	m.ErrorsSent = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "errors_sent_total", Help: "Error frames sent, by error code."}, []string{"code"})
	m.EventsPublished = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "events_published_total", Help: "Room events handed to the event sink."})
	m.Commands = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "commands_total", Help: "Operator commands executed, by kind and result."}, []string{"kind", "result"})
	for _, c := range []prometheus.Collector{m.Connections, m.Sessions, m.Rooms, m.Draining, m.MaxConnections, m.BuildInfo, m.MessagesIn, m.BytesIn, m.MessagesOut, m.BytesOut,
		m.TickDuration, m.SendQueueDrops, m.SlowConsumers, m.RoomBacklogged, m.TicketRejections, m.Closes, m.ErrorsSent, m.EventsPublished, m.Commands} {
		f(c)
	}
	// Kinds that cannot occur in a direction count into an unregistered
	// counter: no series, and the hot path still needs no branch.
	discard := prometheus.NewCounter(prometheus.CounterOpts{Name: "discard"})
	invalidIn, invalidInBytes := m.MessagesIn.WithLabelValues("invalid"), m.BytesIn.WithLabelValues("invalid")
	for i := range 256 {
		m.in[i], m.inBytes[i], m.out[i], m.outBytes[i] = invalidIn, invalidInBytes, discard, discard
	}
	for i := 1; i <= int(lastKnownMessage); i++ {
		t := protocol.Message(i)
		k := KindName(t)
		if clientKinds[t] {
			m.in[i], m.inBytes[i] = m.MessagesIn.WithLabelValues(k), m.BytesIn.WithLabelValues(k)
		} else {
			m.out[i], m.outBytes[i] = m.MessagesOut.WithLabelValues(k), m.BytesOut.WithLabelValues(k)
		}
	}
	m.closes = make(map[common.CloseCode]prometheus.Counter, len(common.EnumNamesCloseCode))
	for c, name := range common.EnumNamesCloseCode {
		if c != common.CloseCodeNone {
			m.closes[c] = m.Closes.WithLabelValues(strconv.Itoa(int(c)), snake(name))
		}
	}
	m.errorsSent = make(map[common.ErrorCode]prometheus.Counter, len(common.EnumNamesErrorCode))
	for c, name := range common.EnumNamesErrorCode {
		m.errorsSent[c] = m.ErrorsSent.WithLabelValues(snake(name))
	}
	for _, r := range ticket.Reasons() {
		m.TicketRejections.WithLabelValues(string(r))
	}
	for _, kind := range CommandKinds {
		for _, result := range []string{"ok", "error"} {
			m.Commands.WithLabelValues(kind, result)
		}
	}
	m.dropMovement = m.SendQueueDrops.WithLabelValues("movement")
	return m
}

// CommandKinds are the kind labels of plaza_relay_commands_total, one per
// coord.CommandKind, as relay.Handler counts them: each kind and result (ok,
// error) exists at zero from the start, so the operator-commands panel has
// data before the first command.
var CommandKinds = []string{"kick", "mute", "unmute", "close_room", "announce", "drain", "reload_config"}

// lastKnownMessage is the highest union tag this build names; a newer tag
// is counted as "invalid" (the relay answers it UnknownMessage).
const lastKnownMessage = protocol.MessageLeave

// clientKinds are the client -> relay messages (the only "in" kinds);
// every other known kind is relay -> client (the only "out" kinds).
var clientKinds = map[protocol.Message]bool{
	protocol.MessageHello: true, protocol.MessageMove: true, protocol.MessageChatSend: true, protocol.MessageEmoteSend: true,
	protocol.MessageStateSet: true, protocol.MessagePing: true, protocol.MessageLeave: true,
}

// KindName is the kind label of a union tag ("invalid" for NONE/unknown),
// snake_case: "chat_send", "movement_batch".
func KindName(t protocol.Message) string {
	if t == protocol.MessageNONE || t > lastKnownMessage {
		return "invalid"
	}
	return snake(protocol.EnumNamesMessage[t])
}

// CloseReason is the reason label of a close code: its CloseCode name in
// snake_case ("slow_consumer").
func CloseReason(c common.CloseCode) string { return snake(common.EnumNamesCloseCode[c]) }

// snake turns a schema enum name into a label value: "ChatInvalidUtf8" ->
// "chat_invalid_utf8".
func snake(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SetBuild publishes plaza_build_info for build ("0.1.0+abc123": version
// and commit; without "+", the commit is the VCS revision Go stamped into
// the binary, or "unknown").
func (m *Metrics) SetBuild(build string) {
	version, commit, ok := strings.Cut(build, "+")
	if !ok {
		commit = "unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && s.Value != "" {
					commit = s.Value
				}
			}
		}
	}
	m.BuildInfo.Reset()
	m.BuildInfo.WithLabelValues(version, commit).Set(1)
}

// In counts one received frame of kind t.
func (m *Metrics) In(t protocol.Message, n int) {
	m.in[t].Inc()
	m.inBytes[t].Add(float64(n))
}

// Out counts one frame of kind t written to a socket.
func (m *Metrics) Out(t protocol.Message, n int) {
	m.out[t].Inc()
	m.outBytes[t].Add(float64(n))
}

// MovementDropped counts a pending movement batch replaced by a newer one.
func (m *Metrics) MovementDropped() { m.dropMovement.Inc() }

// Closed counts a close the relay initiated.
func (m *Metrics) Closed(code common.CloseCode) {
	c, ok := m.closes[code]
	if !ok { // a code newer than this build's schema
		c = m.Closes.WithLabelValues(strconv.Itoa(int(code)), "unknown")
	}
	c.Inc()
}

// ErrorSent counts an Error frame.
func (m *Metrics) ErrorSent(code common.ErrorCode) {
	c, ok := m.errorsSent[code]
	if !ok {
		c = m.ErrorsSent.WithLabelValues("unknown")
	}
	c.Inc()
}
