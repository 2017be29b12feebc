package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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

// Server is a whole relay: the WebSocket listener, the Hub, the admin
// listener and (with --metrics-listen) the metrics listener.
type Server struct {
	cfg     config.Config
	seams   Seams
	log     *slog.Logger
	Hub     *Hub
	Metrics *metrics.Metrics
	keys    ticket.KeySet
	ws      *transport.Server
	admin   *http.Server
	// metrics is nil without --metrics-listen.
	metrics *http.Server
	// adminAddr and metricsAddr are the bound addresses ("" until Start).
	adminAddr   atomic.Value
	metricsAddr atomic.Value

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
	split := cfg.MetricsListen != ""
	s.admin = &http.Server{Handler: s.adminHandler(!split), ReadHeaderTimeout: 5 * time.Second}
	if split {
		s.metrics = &http.Server{Handler: s.metricsHandler(), ReadHeaderTimeout: 5 * time.Second}
	}
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
func (s *Server) AdminAddr() string { return loadAddr(&s.adminAddr) }

// MetricsAddr returns the metrics listener's address (after Run started
// it); "" without --metrics-listen.
func (s *Server) MetricsAddr() string { return loadAddr(&s.metricsAddr) }

func loadAddr(v *atomic.Value) string {
	a, _ := v.Load().(string)
	return a
}

// Start loads keys and opens the listeners (admin, metrics if configured,
// then WebSocket). A JWKS that cannot be loaded yet is not fatal: /readyz
// stays false and the next unknown kid retries.
func (s *Server) Start(ctx context.Context) error {
	if rk, ok := s.keys.(*ticket.RemoteKeys); ok {
		if err := rk.Load(ctx); err != nil {
			s.log.Warn("initial JWKS load failed; will retry on demand", "err", err)
		}
	}
	adminLn, err := s.serveHTTP(s.admin, s.cfg.AdminListen, "admin")
	if err != nil {
		return err
	}
	s.adminAddr.Store(adminLn.Addr().String())
	metricsAddr := ""
	if s.metrics != nil {
		metricsLn, err := s.serveHTTP(s.metrics, s.cfg.MetricsListen, "metrics")
		if err != nil {
			_ = s.admin.Close()
			return err
		}
		metricsAddr = metricsLn.Addr().String()
		s.metricsAddr.Store(metricsAddr)
	}
	if err := s.ws.Start(); err != nil {
		_ = s.admin.Close()
		if s.metrics != nil {
			_ = s.metrics.Close()
		}
		return fmt.Errorf("start relay: %w", err)
	}
	if s.metrics != nil && !isLoopback(adminLn.Addr()) {
		s.log.Warn("the admin listener (POST /admin/drain, /debug/pprof) is not on a loopback address; anyone who can reach it can drain this relay",
			"admin", adminLn.Addr().String())
	}
	s.log.Info("relay listening", "ws", s.ws.Addr(), "admin", adminLn.Addr().String(), "metrics", metricsAddr, "tls", s.cfg.TLSCertFile != "")
	return nil
}

// serveHTTP binds addr and serves srv on it in the background.
func (s *Server) serveHTTP(srv *http.Server, addr, name string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start relay: %s listener: %w", name, err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(name+" listener failed", "err", err)
		}
	}()
	return ln, nil
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
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
	if s.metrics != nil {
		if e := s.metrics.Shutdown(ctx); e != nil && err == nil {
			err = fmt.Errorf("shutdown metrics listener: %w", e)
		}
	}
	s.Hub.Close()
	return err
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
