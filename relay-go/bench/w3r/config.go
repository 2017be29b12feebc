// Package w3r is the Go driver of W3r, the rejoin storm (docs/benchmarks.md,
// "W3r (Go load generator)"; scripts/bench_w3r.py starts the system, kills
// the relay and calls it).
//
// Phases: (a) Players guests sign in, join the world and connect to the
// relay named (bounded concurrency); the first member of each room sets a
// state key; a READY line (JSON) goes to stdout and the driver waits for a
// line on stdin, the moment of the kill. Rounds repeat (b) and (c) on the
// same players: READY again, the next relay killed. (b) Each player, once its socket
// closes, rejoins as docs/protocol.md §8 says: POST /v1/join with its
// session token, room_id and resume_session_id; a 409/429/503 waits its
// hint (retry_after_ms, else Retry-After) plus uniform(0, 250 ms); a failure
// without a hint (transport error, dial, refused ticket) waits the growing
// full jitter (client.Backoff); then Hello to the relay named. (c) It
// records per player the time from the kill to its Welcome, the admitted
// attempt's request→Welcome, join requests, 503s, failures by kind, and
// whether it came back to its room with the state key and a room sequence
// not below the last it saw, plus a timeline in buckets after the kill.
package w3r

import (
	"fmt"
	"net"
	"time"
)

// Config is one W3r run of the driver.
type Config struct {
	// ControlURLs are the control planes; player i uses the (i mod n)-th
	// for sign-in, join and every rejoin (several control processes on
	// several ports, the players split between them).
	ControlURLs []string
	World       string
	Players     int
	// SeatConcurrency bounds the join paths in flight while seating.
	SeatConcurrency int
	// SourceAddrs: connections come from 127.0.0.1 .. 127.0.0.N (more
	// ephemeral ports); zero value: 1.
	SourceAddrs int
	// StateKey is set by the first member of each room (value "kept").
	StateKey string
	// Deadline after the kill: players not back by then count as lost.
	Deadline time.Duration
	// Bucket is the timeline's resolution; zero value: 100 ms.
	Bucket time.Duration
	// Settle is the wait between the state writes and READY (the relay
	// writes its room snapshots within 100 ms); zero value: 1 s.
	Settle time.Duration
	// Seed seeds the players' jitter.
	Seed uint64
	// Rounds is how many storms run on the same seated players (the
	// orchestrator kills the relay they are on before each); zero value: 1.
	Rounds int
}

func (c *Config) check() error {
	switch {
	case len(c.ControlURLs) == 0:
		return fmt.Errorf("no control plane URL (--control)")
	case c.Players <= 0:
		return fmt.Errorf("--players must be positive, got %d", c.Players)
	case c.SeatConcurrency <= 0:
		return fmt.Errorf("--seat-concurrency must be positive, got %d", c.SeatConcurrency)
	case c.Deadline <= 0:
		return fmt.Errorf("--deadline must be positive, got %s", c.Deadline)
	case c.World == "" || c.StateKey == "":
		return fmt.Errorf("--world and --state-key must not be empty")
	case c.SourceAddrs < 0 || c.SourceAddrs > 250:
		return fmt.Errorf("--source-addrs must be 0..250, got %d", c.SourceAddrs)
	}
	if c.Bucket <= 0 {
		c.Bucket = 100 * time.Millisecond
	}
	if c.Rounds <= 0 {
		c.Rounds = 1
	}
	if c.Settle <= 0 {
		c.Settle = time.Second
	}
	return nil
}

// sourceIP is the loopback source address of player i.
func (c *Config) sourceIP(i int) net.IP {
	n := max(1, c.SourceAddrs)
	return net.IPv4(127, 0, 0, byte(1+i%n))
}

// Ready is the line printed (JSON) once every player is seated.
type Ready struct {
	Ready   bool    `json:"ready"`
	Round   int     `json:"round"`
	Players int     `json:"players"`
	Rooms   int     `json:"rooms"`
	SeatS   float64 `json:"seat_s"`
}

// Result is what one run measured (the JSON the driver writes).
type Result struct {
	Round    int      `json:"round"` // 0-based storm on the same seated players
	Players  int      `json:"players"`
	Rooms    int      `json:"rooms"`
	Controls []string `json:"controls"`
	SeatS    float64  `json:"seat_s"` // seating all players took this long

	Back       int     `json:"back"`        // players with a Welcome after the kill
	AllBackS   float64 `json:"all_back_s"`  // kill → last Welcome
	BackP50S   float64 `json:"back_p50_s"`  // kill → Welcome, over players back
	BackP99S   float64 `json:"back_p99_s"`  //
	WithinS    float64 `json:"within_s"`    // the target window (10 s)
	BackWithin int     `json:"back_within"` // players back within WithinS
	// Request→Welcome of the admitted attempt: from its POST /v1/join to
	// the relay's Welcome; JoinP* is its join request alone.
	RequestP50Ms float64 `json:"request_p50_ms"`
	RequestP99Ms float64 `json:"request_p99_ms"`
	JoinP50Ms    float64 `json:"join_p50_ms"`
	JoinP99Ms    float64 `json:"join_p99_ms"`

	JoinRequests int64 `json:"join_requests"`
	HTTP503      int64 `json:"http_503"`
	// Hinted503 is how many 503s carried a hint (retry_after_ms or
	// Retry-After).
	Hinted503 int64            `json:"hinted_503"`
	Failures  map[string]int64 `json:"failures"` // every failed attempt by kind (the 503s included)

	SameRoom     int `json:"same_room"`
	StateKept    int `json:"state_kept"`
	SequenceKept int `json:"sequence_kept"`
	// LostBeforeKill: sessions that ended before the kill (must be 0).
	LostBeforeKill int `json:"lost_before_kill"`

	// Timeline after the kill, one entry per bucket of BucketMs.
	BucketMs     int64   `json:"bucket_ms"`
	Welcomes     []int64 `json:"welcomes"`
	Refused503   []int64 `json:"refused_503"`
	JoinRequestT []int64 `json:"join_requests_t"`
	FailuresT    []int64 `json:"failures_t"` // failed attempts other than 503

	// DriverCPUS is this process's CPU (user+sys) from the kill to the end.
	DriverCPUS float64 `json:"driver_cpu_s"`
	StormS     float64 `json:"storm_s"` // kill → end of the storm phase
}
