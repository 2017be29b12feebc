package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/metrics"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/transport"
)

// Build identifies this relay build in load reports; set with
// -ldflags "-X github.com/plaza-dev/plaza/relay-go/internal/relay.Build=0.1.0+abc123".
var Build = "dev"

// Seams are the coordination implementations a Server uses. Zero fields
// get the Memory implementation, which makes a standalone relay.
type Seams struct {
	Worlds      coord.WorldConfigSource
	Events      coord.EventSink
	States      coord.RoomStateStore
	Assignments coord.Assignments
	Commands    coord.CommandSource
	Reporter    coord.Reporter
	// UsedTickets records used tickets beyond this process (Redis); nil:
	// single use is the in-memory replay cache only.
	UsedTickets ticket.UsedTickets
	// Keys overrides the JWKS URL/file key set (tests).
	Keys ticket.KeySet
}

// Server is a whole relay: the WebSocket listener, the Hub and the admin
// listener.
type Server struct {
	cfg     config.Config
	seams   Seams
	log     *slog.Logger
	Hub     *Hub
	Metrics *metrics.Metrics
	keys    ticket.KeySet
	ws      *transport.Server
	admin   *http.Server
	adminLn net.Listener

	drainOnce sync.Once
	drained   chan struct{}
}

// New builds a relay from cfg; nothing listens until Run.
func New(cfg config.Config, seams Seams, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new relay: %w", err)
	}
	m := metrics.New()
	m.SetBuild(Build)
	m.MaxConnections.Set(float64(cfg.MaxConnections))
	if seams.Worlds == nil {
		seams.Worlds = coord.NewMemoryWorldConfigs(cfg.World)
	}
	if seams.Events == nil {
		seams.Events = coord.NewMemoryEvents(10000)
	}
	if seams.States == nil {
		seams.States = coord.NewMemoryRoomStates()
	}
	if seams.Assignments == nil {
		seams.Assignments = &coord.MemoryAssignments{}
	}
	if seams.Commands == nil {
		seams.Commands = coord.NewMemoryCommands(64, seams.Events)
	}
	if seams.Reporter == nil {
		seams.Reporter = &coord.MemoryReporter{}
	}
	keys := seams.Keys
	if keys == nil {
		rk, err := ticket.NewRemoteKeys(ticket.RemoteKeysConfig{URL: cfg.JWKSURL, File: cfg.JWKSFile, MinRefetch: cfg.JWKSRefetch})
		if err != nil {
			return nil, fmt.Errorf("new relay: %w", err)
		}
		keys = rk
	}
	v, err := ticket.NewVerifier(ticket.Config{
		Keys: keys, Issuer: cfg.TicketIssuer, Audience: cfg.RelayID, Skew: cfg.TicketSkew,
		Replay: ticket.NewReplayCache(cfg.ReplayCache), Used: seams.UsedTickets,
	})
	if err != nil {
		return nil, fmt.Errorf("new relay: %w", err)
	}
	hub, err := NewHub(HubConfig{
		RelayID: cfg.RelayID, PublicURL: cfg.PublicURL, Region: cfg.Region, Build: Build, MaxConnections: cfg.MaxConnections, Verifier: v, Worlds: seams.Worlds, Events: seams.Events, States: seams.States,
		Assignments: seams.Assignments, Commands: seams.Commands, Reporter: seams.Reporter, ReportInterval: cfg.ReportInterval,
		Metrics: m, Logger: log, MaxFrameBytes: cfg.MaxFrameBytes, SendQueue: cfg.SendQueue, SendBufferBytes: cfg.SendBufferBytes, ReliableWithTick: cfg.ReliableWithTick,
		HelloTimeout: cfg.HelloTimeout, IdleTimeout: cfg.IdleTimeout, DrainTimeout: cfg.DrainTimeout, DrainRate: cfg.DrainRate,
		AssignmentCheckInterval: cfg.AssignmentCheckInterval,
	})
	if err != nil {
		return nil, fmt.Errorf("new relay: %w", err)
	}
	s := &Server{cfg: cfg, seams: seams, log: log, Hub: hub, Metrics: m, keys: keys, drained: make(chan struct{})}
	hub.drainRequested = s.drainWithin
	ws, err := transport.NewServer(transport.Config{
		Addr: cfg.Listen, TLSCertFile: cfg.TLSCertFile, TLSKeyFile: cfg.TLSKeyFile, Path: "/ws",
		MaxFrameBytes: cfg.MaxFrameBytes, SendBufferBytes: cfg.SendBufferBytes, CheckOrigin: originChecker(cfg.AllowedOrigins),
		HandshakeTimeout: cfg.HelloTimeout,
		SocketSendBuffer: cfg.SocketSendBuffer, MaxConnections: cfg.MaxConnections, Accept: hub.Accept,
	})
	if err != nil {
		hub.Close()
		return nil, fmt.Errorf("new relay: %w", err)
	}
	s.ws = ws
	s.admin = &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// originChecker allows requests without an Origin header (game clients),
// any Origin when the list holds "*", and otherwise exact matches.
func originChecker(allowed []string) func(*http.Request) bool {
	anyOrigin := slices.Contains(allowed, "*")
	return func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || anyOrigin || slices.Contains(allowed, o)
	}
}

// Addr returns the WebSocket listener's address (after Run started it).
func (s *Server) Addr() string { return s.ws.Addr() }

// AdminAddr returns the admin listener's address (after Run started it).
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// Start loads keys and opens both listeners. A JWKS that cannot be loaded
// yet is not fatal: /readyz stays false and the next unknown kid retries.
func (s *Server) Start(ctx context.Context) error {
	if rk, ok := s.keys.(*ticket.RemoteKeys); ok {
		if err := rk.Load(ctx); err != nil {
			s.log.Warn("initial JWKS load failed; will retry on demand", "err", err)
		}
	}
	ln, err := net.Listen("tcp", s.cfg.AdminListen)
	if err != nil {
		return fmt.Errorf("start relay: admin listener: %w", err)
	}
	s.adminLn = ln
	go func() {
		if err := s.admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin listener failed", "err", err)
		}
	}()
	if err := s.ws.Start(); err != nil {
		_ = s.admin.Close()
		return fmt.Errorf("start relay: %w", err)
	}
	s.log.Info("relay listening", "ws", s.ws.Addr(), "admin", ln.Addr().String(), "tls", s.cfg.TLSCertFile != "")
	return nil
}

// Run starts the relay and serves until ctx ends or a drain (SIGTERM is
// wired to ctx by main, POST /admin/drain and Drain commands trigger it
// directly) has finished. It drains before returning, so the process can
// exit 0.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		s.Hub.Close()
		return err
	}
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- s.Hub.Run(hubCtx) }()
	select {
	case <-ctx.Done():
	case <-s.drained:
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout+5*time.Second)
	defer cancel()
	err := s.Shutdown(sctx)
	stopHub()
	if herr := <-hubDone; herr != nil && err == nil {
		err = herr
	}
	return err
}

// Drain starts a drain in the background (admin endpoint, signal); Run
// returns once it finished.
func (s *Server) Drain(reason string) {
	s.drainWithin(reason, s.cfg.DrainTimeout)
}

// drainWithin is Drain with its own deadline (a Drain command's).
func (s *Server) drainWithin(reason string, within time.Duration) {
	s.drainOnce.Do(func() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), within)
			defer cancel()
			_ = s.Hub.Drain(ctx, reason)
			close(s.drained)
		}()
	})
}

// Shutdown drains (bounded by --drain-timeout and ctx), then stops the
// listeners and the hub.
func (s *Server) Shutdown(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout)
	defer cancel()
	err := s.Hub.Drain(dctx, "relay shutting down")
	if e := s.ws.Shutdown(ctx); e != nil && err == nil {
		err = fmt.Errorf("shutdown websocket listener: %w", e)
	}
	if e := s.admin.Shutdown(ctx); e != nil && err == nil {
		err = fmt.Errorf("shutdown admin listener: %w", e)
	}
	s.Hub.Close()
	return err
}

func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{Registry: s.Metrics.Registry}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if msg := s.notReady(); msg != "" {
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\nboot_id " + s.Hub.BootID() + "\n"))
	})
	mux.HandleFunc("POST /admin/drain", func(w http.ResponseWriter, _ *http.Request) {
		s.Drain("drain requested by an operator")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("draining\n"))
	})
	return mux
}

// ReadyChecker is implemented by seams whose backend can be unreachable
// (Redis): /readyz fails while Ready returns an error. Ready must be cheap
// (a cached result or a ping with a short timeout).
type ReadyChecker interface {
	Ready(ctx context.Context) error
}

// notReady explains why the relay should not get new rooms ("" = ready).
func (s *Server) notReady() string {
	if s.Hub.Draining() {
		return "draining"
	}
	if rk, ok := s.keys.(*ticket.RemoteKeys); ok && !rk.Loaded() {
		return "no ticket keys loaded"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, seam := range []any{s.seams.Worlds, s.seams.Events, s.seams.States, s.seams.Assignments, s.seams.Commands, s.seams.Reporter, s.seams.UsedTickets} {
		if rc, ok := seam.(ReadyChecker); ok {
			if err := rc.Ready(ctx); err != nil {
				return fmt.Sprintf("%T not ready: %v", seam, err)
			}
		}
	}
	return ""
}
