package loadgen

import (
	"net"
	"time"
)

// Workload is what the simulated members do. Zero values mean "none"
// (no movement, no chat) unless a field says otherwise.
type Workload struct {
	Name           string  `json:"name"`
	Rooms          int     `json:"rooms"`
	MembersPerRoom int     `json:"members_per_room"`
	MoveHz         float64 `json:"move_hz"`         // Move frames per second per member
	ChatPerSec     float64 `json:"chat_per_sec"`    // ChatSend per second per member
	ChatBytes      int     `json:"chat_bytes"`      // chat text length; zero value: 48
	Area           float64 `json:"area_m"`          // side of the square the avatars walk in; zero value: 40
	DurationMs     int64   `json:"duration_ms"`     // measured window
	GraceMs        int64   `json:"grace_ms"`        // longest wait for late chat after the window (ends after 1.5 s without any); zero value: 15000
	SettleMs       int64   `json:"settle_ms"`       // idle time between all joined and the window; zero value: 1000
	ControlPlane   bool    `json:"control_plane"`   // join through the control plane (W3)
	InterestRadius float64 `json:"interest_radius"` // informational: what the server was configured with
}

// Members is the total member count.
func (w *Workload) Members() int { return w.Rooms * w.MembersPerRoom }

// Duration is the measured window.
func (w *Workload) Duration() time.Duration { return time.Duration(w.DurationMs) * time.Millisecond }

func (w *Workload) grace() time.Duration {
	if w.GraceMs == 0 {
		return 15 * time.Second
	}
	return time.Duration(w.GraceMs) * time.Millisecond
}

func (w *Workload) settle() time.Duration {
	if w.SettleMs == 0 {
		return time.Second
	}
	return time.Duration(w.SettleMs) * time.Millisecond
}

// Plan is everything a worker process needs; the coordinator sends it as
// the first JSON line on the worker's stdin.
type Plan struct {
	Target string   `json:"target"` // "plaza" or a registered name
	URL    string   `json:"url"`    // server WebSocket URL
	Work   Workload `json:"workload"`

	// Plaza relay-only mode: tickets are minted with this key.
	RelayID    string `json:"relay_id"`
	WorldID    string `json:"world_id"`
	TicketKid  string `json:"ticket_kid"`
	TicketSeed []byte `json:"ticket_seed"`
	RoomPrefix string `json:"room_prefix"`

	// Plaza control-plane mode (ControlURL non-empty).
	ControlURL   string `json:"control_url"`
	ControlWorld string `json:"control_world"`
	// Control plane paths; zero values: client.Control's defaults.
	ControlSignInPath string `json:"control_signin_path"`
	ControlJoinPath   string `json:"control_join_path"`

	// Centrifugo: HMAC secret for connection tokens.
	CentrifugoSecret string `json:"centrifugo_secret"`

	SourceAddrs        int     `json:"source_addrs"`        // use 127.0.0.1 .. 127.0.0.N; zero value: 1
	ConnectConcurrency int     `json:"connect_concurrency"` // joins in flight per worker; zero value: 64
	ConnectRate        float64 `json:"connect_rate"`        // joins started per second per worker; 0 = as fast as allowed
	JoinTimeoutMs      int64   `json:"join_timeout_ms"`     // whole join phase; zero value: 180000
	Seed               uint64  `json:"seed"`

	Worker  int      `json:"worker"`
	Workers int      `json:"workers"`
	Members []Member `json:"members"`
}

// sourceIP is the loopback source address for member index i.
func (p *Plan) sourceIP(i int) net.IP {
	n := p.SourceAddrs
	if n <= 0 {
		n = 1
	}
	if n > 250 {
		n = 250
	}
	return net.IPv4(127, 0, 0, byte(1+i%n))
}

// Presets are the named workloads of docs/benchmarks-workloads.md.
var Presets = map[string]Workload{
	"w1": {Name: "w1", Rooms: 20, MembersPerRoom: 50, MoveHz: 10, ChatPerSec: 0.2, DurationMs: 60_000},
	"w2": {Name: "w2", Rooms: 300, MembersPerRoom: 50, DurationMs: 5_000, SettleMs: 5_000},
	"w3": {Name: "w3", Rooms: 100, MembersPerRoom: 50, DurationMs: 1_000, ControlPlane: true},
	"w4": {Name: "w4", Rooms: 1, MembersPerRoom: 500, MoveHz: 10, ChatPerSec: 0.02, Area: 200, DurationMs: 30_000},
	// smoke: what the `make test` smoke run uses.
	"smoke": {Name: "smoke", Rooms: 2, MembersPerRoom: 10, MoveHz: 10, ChatPerSec: 1, DurationMs: 3_000, GraceMs: 10_000, SettleMs: 200},
}
