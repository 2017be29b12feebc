// Package metrics defines the relay's Prometheus metrics (docs/relay.md).
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

// Metrics holds every relay metric. Hot-path counters are resolved per
// label once (Kind) so counting costs an atomic add, not a map lookup.
type Metrics struct {
	Registry *prometheus.Registry

	Connections      prometheus.Gauge
	Sessions         prometheus.Gauge
	Rooms            prometheus.Gauge
	Draining         prometheus.Gauge
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
	m.MessagesIn = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_in_total", Help: "Client frames received, by message kind (invalid = undecodable)."}, []string{"kind"})
	m.BytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bytes_in_total", Help: "Client frame payload bytes received, by message kind."}, []string{"kind"})
	m.MessagesOut = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_out_total", Help: "Frames written to sockets, by message kind."}, []string{"kind"})
	m.BytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bytes_out_total", Help: "Frame payload bytes written to sockets, by message kind."}, []string{"kind"})
	m.TickDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "tick_duration_seconds", Help: "Time one room tick takes (collect, interest, encode, enqueue, and the socket writes it flushes).",
		Buckets: []float64{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05}})
	m.SendQueueDrops = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "send_queue_drops_total", Help: "Frames dropped from send queues (movement: replaced by a newer batch)."}, []string{"kind"})
	m.SlowConsumers = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "slow_consumer_closes_total", Help: "Sessions closed because their reliable send queue overflowed."})
	m.RoomBacklogged = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "room_backlogged_total", Help: "Times a session's chat/emote/state input found its room's inbox full and waited in the session's backlog."})
	m.TicketRejections = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "ticket_rejections_total", Help: "Refused join tickets, by reason."}, []string{"reason"})
	m.Closes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "closes_total", Help: "Connections the relay closed, by close code."}, []string{"code"})
	m.ErrorsSent = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "errors_sent_total", Help: "Error frames sent, by error code."}, []string{"code"})
	m.EventsPublished = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "events_published_total", Help: "Room events handed to the event sink."})
	m.Commands = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "commands_total", Help: "Operator commands executed, by kind and result."}, []string{"kind", "result"})
	for _, c := range []prometheus.Collector{m.Connections, m.Sessions, m.Rooms, m.Draining, m.MessagesIn, m.BytesIn, m.MessagesOut, m.BytesOut,
		m.TickDuration, m.SendQueueDrops, m.SlowConsumers, m.RoomBacklogged, m.TicketRejections, m.Closes, m.ErrorsSent, m.EventsPublished, m.Commands} {
		f(c)
	}
	for i := 0; i <= int(lastKnownMessage); i++ {
		k := KindName(protocol.Message(i))
		m.in[i], m.inBytes[i] = m.MessagesIn.WithLabelValues(k), m.BytesIn.WithLabelValues(k)
		m.out[i], m.outBytes[i] = m.MessagesOut.WithLabelValues(k), m.BytesOut.WithLabelValues(k)
	}
	// Unknown tags share the "invalid" series.
	for i := int(lastKnownMessage) + 1; i < 256; i++ {
		m.in[i], m.inBytes[i], m.out[i], m.outBytes[i] = m.in[0], m.inBytes[0], m.out[0], m.outBytes[0]
	}
	m.dropMovement = m.SendQueueDrops.WithLabelValues("movement")
	return m
}

// lastKnownMessage is the highest union tag this build names; a newer tag
// is counted as "invalid" (the relay answers it UnknownMessage).
const lastKnownMessage = protocol.MessageLeave

// KindName is the kind label of a union tag ("invalid" for NONE/unknown).
func KindName(t protocol.Message) string {
	if t == protocol.MessageNONE || t > lastKnownMessage {
		return "invalid"
	}
	return protocol.EnumNamesMessage[t]
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
	m.Closes.WithLabelValues(strconv.Itoa(int(code))).Inc()
}

// ErrorSent counts an Error frame.
func (m *Metrics) ErrorSent(code common.ErrorCode) {
	m.ErrorsSent.WithLabelValues(common.EnumNamesErrorCode[code]).Inc()
}
