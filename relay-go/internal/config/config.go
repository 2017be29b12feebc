// Package config reads the relay's configuration from flags and PLAZA_RELAY_*
// environment variables (a flag wins over its variable, a variable over the
// default) and validates it. docs/relay.md lists every setting; a test keeps
// that table and Flags in step.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// Config is the relay's configuration. The zero value is not valid; use
// Default or Parse.
type Config struct {
	Listen string // WebSocket listener, host:port
	// AdminListen serves POST /admin/drain and /debug/pprof (and, while
	// MetricsListen is empty, the metrics endpoints too); host:port,
	// loopback by default.
	AdminListen string
	// MetricsListen serves only /metrics, /healthz and /readyz; host:port.
	// Empty = no separate listener: the admin listener serves them.
	MetricsListen string
	RelayID       string // ticket audience; default: the host name
	PublicURL     string // URL clients connect to (reported in heartbeats)
	Region        string
	JWKSURL       string // control plane JWKS; exactly one of JWKSURL, JWKSFile
	JWKSFile      string
	TicketIssuer  string
	TicketSkew    time.Duration
	JWKSRefetch   time.Duration // minimum time between refetches on unknown kid
	ReplayCache   int           // most jti values remembered
	HelloTimeout  time.Duration
	IdleTimeout   time.Duration
	// MaxFrameBytes is the largest client frame; larger ones close with 1009.
	MaxFrameBytes int
	// SendQueue is the most reliable frames queued per session before it is
	// closed as a slow consumer.
	SendQueue int
	// SendBufferBytes is how many bytes may sit unsent in a connection's
	// socket buffer before the relay stops writing to it and queues instead.
	SendBufferBytes int
	// ReliableWithTick holds a room's reliable broadcasts (chat, presence,
	// state, emotes) for the room's next movement tick, so each member
	// costs one socket write per tick; false writes them as soon as the
	// room has handled the input.
	ReliableWithTick bool
	// SocketSendBuffer is SO_SNDBUF per connection; 0 keeps the kernel's
	// autotuning.
	SocketSendBuffer int
	MaxConnections   int
	World            coord.WorldConfig // defaults for every world
	DrainTimeout     time.Duration
	DrainRate        int // DisconnectNotices per second while draining
	TLSCertFile      string
	TLSKeyFile       string
	AllowedOrigins   []string // "*" = any; requests without Origin always pass
	LogLevel         slog.Level
	ReportInterval   time.Duration
	// RedisURL is the coordination Redis (redis://host:port/db); empty =
	// standalone, every seam in memory.
	RedisURL string
	// RedisPrefix starts every Redis key and channel (docs/redis.md).
	RedisPrefix string
	// HeartbeatInterval is how often the relay heartbeats into Redis (the
	// key lives 3× as long); with RedisURL set it is also the load report
	// interval.
	HeartbeatInterval time.Duration
	// EventBuffer is the most room events held while Redis is slow or away;
	// beyond it the oldest are dropped (counted).
	EventBuffer int
	// AssignmentCheckInterval is how often the relay re-checks that each
	// open room's allocation still names this relay and the room's
	// lifetime, closing those that lost it (decision 009).
	AssignmentCheckInterval time.Duration
}

// Default returns the documented defaults.
func Default() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "relay"
	}
	return Config{
		Listen: "127.0.0.1:18100", AdminListen: "127.0.0.1:18200", RelayID: host,
		PublicURL: "ws://127.0.0.1:18100/ws", Region: "local",
		TicketIssuer: "plaza-control", TicketSkew: 5 * time.Second, JWKSRefetch: 5 * time.Second, ReplayCache: 1 << 20,
		HelloTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second,
		MaxFrameBytes: 16 << 10, SendQueue: 256, SendBufferBytes: 256 << 10, ReliableWithTick: true, MaxConnections: 50000,
		World:        coord.DefaultWorldConfig(),
		DrainTimeout: 60 * time.Second, DrainRate: 500,
		AllowedOrigins: []string{"*"}, LogLevel: slog.LevelInfo, ReportInterval: 5 * time.Second,
		RedisPrefix: "plaza:", HeartbeatInterval: 2 * time.Second, EventBuffer: 100000,
		AssignmentCheckInterval: 5 * time.Second,
	}
}

// EnvName returns the environment variable for a flag name.
func EnvName(flagName string) string {
	return "PLAZA_RELAY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

type strList struct{ p *[]string }

func (s strList) String() string {
	if s.p == nil {
		return ""
	}
	return strings.Join(*s.p, ",")
}
func (s strList) Set(v string) error {
	*s.p = nil
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*s.p = append(*s.p, x)
		}
	}
	return nil
}

type level struct{ p *slog.Level }

func (l level) String() string {
	if l.p == nil {
		return "info"
	}
	return strings.ToLower(l.p.String())
}
func (l level) Set(v string) error { return l.p.UnmarshalText([]byte(v)) }

type float32Val struct{ p *float32 }

func (f float32Val) String() string {
	if f.p == nil {
		return "0"
	}
	return fmt.Sprint(*f.p)
}
func (f float32Val) Set(v string) error {
	var x float32
	if _, err := fmt.Sscan(v, &x); err != nil {
		return fmt.Errorf("not a number: %q", v)
	}
	*f.p = x
	return nil
}

// Flags registers every setting on fs, with c's values as defaults.
func Flags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "WebSocket listener host:port (path /ws)")
	fs.StringVar(&c.AdminListen, "admin-listen", c.AdminListen, "admin listener host:port: POST /admin/drain, /debug/pprof; also /metrics, /healthz, /readyz while --metrics-listen is empty")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "metrics listener host:port serving only /metrics, /healthz, /readyz; empty = they are served on --admin-listen")
	fs.StringVar(&c.RelayID, "relay-id", c.RelayID, "this relay's id; tickets must carry it as aud (default: host name)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "URL clients connect to, reported in heartbeats")
	fs.StringVar(&c.Region, "region", c.Region, "region reported in heartbeats")
	fs.StringVar(&c.JWKSURL, "jwks-url", c.JWKSURL, "control plane JWKS URL (one of --jwks-url, --jwks-file is required)")
	fs.StringVar(&c.JWKSFile, "jwks-file", c.JWKSFile, "JWKS file for local use and tests")
	fs.StringVar(&c.TicketIssuer, "ticket-issuer", c.TicketIssuer, "required iss claim of tickets")
	fs.DurationVar(&c.TicketSkew, "ticket-skew", c.TicketSkew, "clock skew accepted on ticket exp and iat")
	fs.DurationVar(&c.JWKSRefetch, "jwks-refetch", c.JWKSRefetch, "minimum time between JWKS refetches caused by an unknown kid")
	fs.IntVar(&c.ReplayCache, "replay-cache", c.ReplayCache, "most ticket ids (jti) remembered for single use; when full of live ids joins are refused")
	fs.DurationVar(&c.HelloTimeout, "hello-timeout", c.HelloTimeout, "time a new connection has to send its Hello")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "a session that sends nothing for this long is closed (4005)")
	fs.IntVar(&c.MaxFrameBytes, "max-frame-bytes", c.MaxFrameBytes, "largest client frame; larger closes with 1009")
	fs.IntVar(&c.SendQueue, "send-queue", c.SendQueue, "reliable frames queued per session before it is closed as a slow consumer (4004)")
	fs.IntVar(&c.SendBufferBytes, "send-buffer-bytes", c.SendBufferBytes, "unsent bytes per connection after which the relay queues instead of writing")
	fs.BoolVar(&c.ReliableWithTick, "reliable-with-tick", c.ReliableWithTick, "write room broadcasts (chat, presence, state) with the next movement tick: one socket write per member per tick, at most one tick of added latency; false = write when handled")
	fs.IntVar(&c.SocketSendBuffer, "socket-send-buffer", c.SocketSendBuffer, "SO_SNDBUF bytes per connection; 0 = kernel autotuning")
	fs.IntVar(&c.MaxConnections, "max-connections", c.MaxConnections, "most open connections; more are refused with HTTP 503 before the upgrade")
	fs.IntVar(&c.World.RoomCapacity, "room-capacity", c.World.RoomCapacity, "default room capacity (members)")
	fs.IntVar(&c.World.TickRateHz, "tick-rate", c.World.TickRateHz, "default room tick rate in Hz")
	fs.Var(float32Val{&c.World.InterestRadius}, "interest-radius", "default interest radius in world units; 0 = everyone sees everyone")
	fs.IntVar(&c.World.FarEveryTicks, "far-every-ticks", c.World.FarEveryTicks, "far avatars are sent every Nth tick; 0 = never")
	fs.IntVar(&c.World.MaxChatBytes, "max-chat-bytes", c.World.MaxChatBytes, "longest chat text in bytes")
	fs.Float64Var(&c.World.ChatsPerSecond, "chats-per-second", c.World.ChatsPerSecond, "chat token bucket rate")
	fs.IntVar(&c.World.ChatBurst, "chat-burst", c.World.ChatBurst, "chat token bucket size")
	fs.Float64Var(&c.World.MovesPerSecond, "moves-per-second", c.World.MovesPerSecond, "Move rate advertised to clients as useful; Moves are never refused for their rate (they coalesce, latest wins)")
	fs.IntVar(&c.World.MoveBurst, "move-burst", c.World.MoveBurst, "Move burst advertised to clients; Moves are never refused for their rate")
	fs.Float64Var(&c.World.EmotesPerSecond, "emotes-per-second", c.World.EmotesPerSecond, "emote token bucket rate")
	fs.IntVar(&c.World.EmoteBurst, "emote-burst", c.World.EmoteBurst, "emote token bucket size")
	fs.Float64Var(&c.World.StateSetsPerSecond, "state-sets-per-second", c.World.StateSetsPerSecond, "state set token bucket rate")
	fs.IntVar(&c.World.StateSetBurst, "state-set-burst", c.World.StateSetBurst, "state set token bucket size")
	fs.IntVar(&c.World.MaxStateKeyBytes, "max-state-key-bytes", c.World.MaxStateKeyBytes, "longest room state key in bytes")
	fs.IntVar(&c.World.MaxStateValueBytes, "max-state-value-bytes", c.World.MaxStateValueBytes, "largest room state value in bytes")
	fs.IntVar(&c.World.MaxStateKeys, "max-state-keys", c.World.MaxStateKeys, "most room state keys")
	fs.DurationVar(&c.World.EmptyGrace, "empty-grace", c.World.EmptyGrace, "an empty room closes after this long")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "longest a drain waits for sessions to leave before closing them")
	fs.IntVar(&c.DrainRate, "drain-rate", c.DrainRate, "DisconnectNotices sent per second while draining")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", c.TLSCertFile, "PEM certificate: serve wss:// (with --tls-key-file)")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", c.TLSKeyFile, "PEM private key for --tls-cert-file")
	fs.Var(strList{&c.AllowedOrigins}, "allowed-origins", "comma-separated Origin values allowed to open /ws; * = any (requests without Origin always pass)")
	fs.Var(level{&c.LogLevel}, "log-level", "debug, info, warn or error")
	fs.DurationVar(&c.ReportInterval, "report-interval", c.ReportInterval, "how often load is reported (heartbeat)")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "coordination Redis, redis://host:port/db; empty = standalone (memory seams)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", c.RedisPrefix, "prefix of every Redis key and channel (same as the control plane's PLAZA_REDIS_PREFIX)")
	fs.DurationVar(&c.HeartbeatInterval, "heartbeat-interval", c.HeartbeatInterval, "Redis heartbeat interval (key TTL 3x); with --redis-url it replaces --report-interval")
	fs.IntVar(&c.EventBuffer, "event-buffer", c.EventBuffer, "room events buffered while Redis is slow or away; beyond it the oldest are dropped")
	fs.DurationVar(&c.AssignmentCheckInterval, "assignment-check-interval", c.AssignmentCheckInterval, "how often every open room's allocation is re-checked (one pipelined HMGET); a room whose allocation is gone or names another relay or lifetime is closed")
}

// Parse reads args (without the program name) and environment variables
// through getenv, applies defaults, and validates the result.
func Parse(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(usage)
	Flags(fs, &c)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = errors.Join(envErr, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
			}
		}
	})
	if envErr != nil {
		return Config{}, fmt.Errorf("config: %w", envErr)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected arguments %q", fs.Args())
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every invalid setting at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	listeners := map[string]string{"--listen": c.Listen, "--admin-listen": c.AdminListen}
	if c.MetricsListen != "" {
		listeners["--metrics-listen"] = c.MetricsListen
	}
	for name, addr := range listeners {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q: %v", name, addr, err)
		}
	}
	if c.MetricsListen != "" && c.MetricsListen == c.AdminListen && !strings.HasSuffix(c.MetricsListen, ":0") {
		bad("--metrics-listen %q is the same address as --admin-listen (leave it empty to serve metrics on the admin listener)", c.MetricsListen)
	}
	if c.RelayID == "" {
		bad("--relay-id is empty")
	}
	if (c.JWKSURL == "") == (c.JWKSFile == "") {
		bad("set exactly one of --jwks-url and --jwks-file")
	}
	if c.JWKSURL != "" {
		if u, err := url.Parse(c.JWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("--jwks-url %q is not an http(s) URL", c.JWKSURL)
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		bad("--public-url %q is not a ws:// or wss:// URL", c.PublicURL)
	}
	if c.TicketIssuer == "" {
		bad("--ticket-issuer is empty")
	}
	if c.TicketSkew < 0 || c.TicketSkew > time.Minute {
		bad("--ticket-skew %v not in 0..1m", c.TicketSkew)
	}
	if c.JWKSRefetch < 0 {
		bad("--jwks-refetch %v is negative", c.JWKSRefetch)
	}
	if c.ReplayCache < 1000 {
		bad("--replay-cache %d is below 1000", c.ReplayCache)
	}
	if c.HelloTimeout <= 0 || c.IdleTimeout <= 0 {
		bad("--hello-timeout and --idle-timeout must be positive")
	}
	if c.MaxFrameBytes < 1024 || c.MaxFrameBytes > 1<<20 {
		bad("--max-frame-bytes %d not in 1024..1048576", c.MaxFrameBytes)
	}
	if c.SendQueue < 8 {
		bad("--send-queue %d is below 8", c.SendQueue)
	}
	if c.SendBufferBytes < 4096 {
		bad("--send-buffer-bytes %d is below 4096", c.SendBufferBytes)
	}
	if c.SocketSendBuffer < 0 {
		bad("--socket-send-buffer %d is negative", c.SocketSendBuffer)
	}
	if c.MaxConnections < 1 {
		bad("--max-connections %d is below 1", c.MaxConnections)
	}
	if err := c.World.Validate(); err != nil {
		bad("world defaults: %v", err)
	}
	if c.DrainTimeout <= 0 || c.DrainRate < 1 {
		bad("--drain-timeout and --drain-rate must be positive")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("set both --tls-cert-file and --tls-key-file, or neither")
	}
	for _, f := range []string{c.TLSCertFile, c.TLSKeyFile, c.JWKSFile} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				bad("%v", err)
			}
		}
	}
	if len(c.AllowedOrigins) == 0 {
		bad("--allowed-origins is empty (use * to allow any)")
	}
	if c.AssignmentCheckInterval < 10*time.Millisecond {
		bad("--assignment-check-interval %v is below 10ms", c.AssignmentCheckInterval)
	}
	if c.ReportInterval < 100*time.Millisecond {
		bad("--report-interval %v is below 100ms", c.ReportInterval)
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("--redis-url %q is not a redis:// or rediss:// URL", c.RedisURL)
		}
	}
	if c.RedisPrefix == "" {
		bad("--redis-prefix is empty")
	}
	if c.HeartbeatInterval < 100*time.Millisecond || c.HeartbeatInterval > time.Minute {
		bad("--heartbeat-interval %v not in 100ms..1m", c.HeartbeatInterval)
	}
	if c.EventBuffer < 100 {
		bad("--event-buffer %d is below 100", c.EventBuffer)
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}
