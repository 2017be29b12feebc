// Package benchrun is `make bench`: every workload of
// docs/benchmarks-workloads.md against Plaza's relay and, where it applies,
// Centrifugo — one server at a time, each freshly started, on loopback —
// then the "Relay vs Centrifugo" section of docs/benchmarks.md and the PNG
// plots under docs/img/ (package report).
//
// Bounded: every load run has a time limit, capped so the whole run ends
// within Config.HardLimit; no new workload starts after Config.Budget; every
// process it starts runs in its own process group and is stopped on
// return, on SIGINT/SIGTERM and (Pdeathsig) if benchrun itself is killed.
package benchrun

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Workloads are the workload names Config.Only may hold, in run order.
var Workloads = []string{"w1", "w2", "w3", "w4"}

// Config is one bench run. FromEnv reads it from the PLAZA_BENCH_* knobs
// (the names are in each field's comment); Default gives every default.
type Config struct {
	Root    string // repository root (holds go.mod of github.com/plaza-dev/plaza); required
	DataDir string // PLAZA_DATA_DIR; runs go to DataDir/bench/<UTC time>; zero value: Root/.data

	Only         []string      // PLAZA_BENCH_ONLY="w1 w2": the workloads to run; default all of Workloads
	W1Duration   time.Duration // PLAZA_BENCH_W1_DURATION: W1 window; default 60s
	W4Duration   time.Duration // PLAZA_BENCH_W4_DURATION: W4 window; default 30s
	TickHz       int           // PLAZA_BENCH_TICK: relay tick rate (Hz), = the 10 Hz movement rate; default 10
	W1Tick20     bool          // PLAZA_BENCH_W1_TICK20: also run W1 at the relay's default 20 Hz tick; default true
	Interest     float64       // PLAZA_BENCH_INTEREST: interest radius (m) for W4 "interest on"; default 50
	W3Clients    int           // PLAZA_BENCH_W3_CLIENTS: W3 clients, a multiple of 50; default 5000
	ControlURL   string        // PLAZA_BENCH_CONTROL_URL: W3 against a running control plane (+ its relays) instead of its own stack
	W3World      string        // PLAZA_BENCH_W3_WORLD: the world W3 joins with ControlURL; default "bench"
	Note         string        // PLAZA_BENCH_NOTE: printed with the results (e.g. "shared machine")
	Pprof        bool          // PLAZA_BENCH_PPROF: profile the relay for 20 s during W1; default true
	NoDocs       bool          // PLAZA_BENCH_NO_DOCS: leave docs/ alone; the report is written into the run directory
	Peer         bool          // PLAZA_BENCH_PEER: also run Centrifugo; default true; false implies NoDocs
	Strict       bool          // PLAZA_BENCH_STRICT: exit non-zero when a run failed or was skipped (the `make test` smoke)
	Budget       time.Duration // PLAZA_BENCH_BUDGET (seconds): no workload starts after this; default 1200
	HardLimit    time.Duration // PLAZA_BENCH_HARD_LIMIT (seconds): the whole run ends by then; default 1680
	RelayPort    int           // PLAZA_BENCH_RELAY_PORT, else PLAZA_RELAY_PORT_BASE; 0 = a free port; default 18100
	AdminPort    int           // PLAZA_BENCH_ADMIN_PORT, else PLAZA_RELAY_ADMIN_PORT_BASE; 0 = a free port; default 18200
	PeerPort     int           // PLAZA_CENTRIFUGO_PORT (its internal port is the next one); 0 = a free port; default 18300
	W3RedisPort  int           // PLAZA_BENCH_W3_REDIS_PORT: W3's own Redis; default 16579
	W3MongoPort  int           // PLAZA_BENCH_W3_MONGO_PORT: W3's own FerretDB (debug port: the next one); default 27517
	W3ControlPrt int           // PLAZA_BENCH_W3_CONTROL_PORT: W3's own control plane; default 18090
	// Workload overrides for short runs (the smoke): members per W1 room and
	// W1 rooms; zero: the preset's (50 and 20).
	W1Rooms, W1MembersPerRoom int // PLAZA_BENCH_W1_ROOMS, PLAZA_BENCH_W1_MEMBERS
}

// Default is the configuration of a full `make bench`.
func Default() Config {
	return Config{
		Only: slices.Clone(Workloads), W1Duration: 60 * time.Second, W4Duration: 30 * time.Second,
		TickHz: 10, W1Tick20: true, Interest: 50, W3Clients: 5000, W3World: "bench", Pprof: true, Peer: true,
		Budget: 1200 * time.Second, HardLimit: 1680 * time.Second,
		RelayPort: 18100, AdminPort: 18200, PeerPort: 18300, W3RedisPort: 16579, W3MongoPort: 27517, W3ControlPrt: 18090,
	}
}

// FromEnv is Default with every knob getenv returns a non-empty value for,
// validated. Unknown PLAZA_BENCH_* names are not an error (the shell may
// hold old ones); bad values are, naming the knob.
func FromEnv(root string, getenv func(string) string) (Config, error) {
	c := Default()
	c.Root = root
	c.DataDir = getenv("PLAZA_DATA_DIR")
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	num := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not an integer", name, v))
				return
			}
			*dst = n
		}
	}
	float := func(name string, dst *float64) {
		if v := getenv(name); v != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a number", name, v))
				return
			}
			*dst = f
		}
	}
	flag := func(name string, dst *bool) {
		switch v := getenv(name); v {
		case "":
		case "1", "true", "yes":
			*dst = true
		case "0", "false", "no":
			*dst = false
		default:
			errs = append(errs, fmt.Errorf("%s=%q: want 1 or 0", name, v))
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a duration (e.g. 60s)", name, v))
				return
			}
			*dst = d
		}
	}
	seconds := func(name string, dst *time.Duration) {
		s := -1
		num(name, &s)
		if s >= 0 {
			*dst = time.Duration(s) * time.Second
		}
	}
	if v := getenv("PLAZA_BENCH_ONLY"); v != "" {
		c.Only = strings.Fields(v)
	}
	dur("PLAZA_BENCH_W1_DURATION", &c.W1Duration)
	dur("PLAZA_BENCH_W4_DURATION", &c.W4Duration)
	num("PLAZA_BENCH_TICK", &c.TickHz)
	flag("PLAZA_BENCH_W1_TICK20", &c.W1Tick20)
	float("PLAZA_BENCH_INTEREST", &c.Interest)
	num("PLAZA_BENCH_W3_CLIENTS", &c.W3Clients)
	str("PLAZA_BENCH_CONTROL_URL", &c.ControlURL)
	str("PLAZA_BENCH_W3_WORLD", &c.W3World)
	str("PLAZA_BENCH_NOTE", &c.Note)
	flag("PLAZA_BENCH_PPROF", &c.Pprof)
	flag("PLAZA_BENCH_NO_DOCS", &c.NoDocs)
	flag("PLAZA_BENCH_PEER", &c.Peer)
	flag("PLAZA_BENCH_STRICT", &c.Strict)
	seconds("PLAZA_BENCH_BUDGET", &c.Budget)
	seconds("PLAZA_BENCH_HARD_LIMIT", &c.HardLimit)
	num("PLAZA_RELAY_PORT_BASE", &c.RelayPort)
	num("PLAZA_BENCH_RELAY_PORT", &c.RelayPort)
	num("PLAZA_RELAY_ADMIN_PORT_BASE", &c.AdminPort)
	num("PLAZA_BENCH_ADMIN_PORT", &c.AdminPort)
	num("PLAZA_CENTRIFUGO_PORT", &c.PeerPort)
	num("PLAZA_BENCH_W3_REDIS_PORT", &c.W3RedisPort)
	num("PLAZA_BENCH_W3_MONGO_PORT", &c.W3MongoPort)
	num("PLAZA_BENCH_W3_CONTROL_PORT", &c.W3ControlPrt)
	num("PLAZA_BENCH_W1_ROOMS", &c.W1Rooms)
	num("PLAZA_BENCH_W1_MEMBERS", &c.W1MembersPerRoom)
	if !c.Peer {
		c.NoDocs = true
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports every bad field at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Root == "" {
		bad("the repository root is required")
	}
	if len(c.Only) == 0 {
		bad("PLAZA_BENCH_ONLY names no workload (have %s)", strings.Join(Workloads, " "))
	}
	for _, w := range c.Only {
		if !slices.Contains(Workloads, w) {
			bad("PLAZA_BENCH_ONLY: unknown workload %q (have %s)", w, strings.Join(Workloads, " "))
		}
	}
	if c.W1Duration < time.Second || c.W4Duration < time.Second {
		bad("PLAZA_BENCH_W1_DURATION and PLAZA_BENCH_W4_DURATION must be at least 1s (have %s, %s)", c.W1Duration, c.W4Duration)
	}
	if c.TickHz < 1 || c.TickHz > 1000 {
		bad("PLAZA_BENCH_TICK=%d: want 1..1000 Hz", c.TickHz)
	}
	if c.Interest <= 0 {
		bad("PLAZA_BENCH_INTEREST=%g: want a radius > 0 m", c.Interest)
	}
	if c.W3Clients < 50 || c.W3Clients%50 != 0 {
		bad("PLAZA_BENCH_W3_CLIENTS=%d: want a positive multiple of 50", c.W3Clients)
	}
	if c.Budget <= 0 || c.HardLimit <= c.Budget {
		bad("PLAZA_BENCH_BUDGET (%s) must be > 0 and below PLAZA_BENCH_HARD_LIMIT (%s)", c.Budget, c.HardLimit)
	}
	for name, p := range map[string]int{"relay": c.RelayPort, "relay admin": c.AdminPort, "centrifugo": c.PeerPort,
		"W3 Redis": c.W3RedisPort, "W3 FerretDB": c.W3MongoPort, "W3 control plane": c.W3ControlPrt} {
		if p < 0 || p > 65534 {
			bad("%s port %d: want 0..65534", name, p)
		}
	}
	if c.W1Rooms < 0 || c.W1MembersPerRoom < 0 {
		bad("PLAZA_BENCH_W1_ROOMS and PLAZA_BENCH_W1_MEMBERS must not be negative")
	}
	return errors.Join(errs...)
}

func (c *Config) wants(w string) bool { return slices.Contains(c.Only, w) }
