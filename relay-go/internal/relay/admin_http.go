package relay

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The relay's HTTP endpoints besides /ws come in two groups (decision 013):
//
//   - operational and safe to expose to a scraper or the kubelet: GET
//     /metrics, GET /healthz, GET /readyz;
//   - privileged: POST /admin/drain (ends every session on the relay) and
//     /debug/pprof (profiles, the command line).
//
// With --metrics-listen the first group is served there and only there, and
// the admin listener serves the second group alone; without it the admin
// listener serves both, as before the split.

// metricsHandler serves the operational endpoints only; every other path is
// 404.
func (s *Server) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	s.operationalRoutes(mux)
	return mux
}

// adminHandler serves drain and pprof, plus the operational endpoints when
// withOperational (no separate metrics listener).
func (s *Server) adminHandler(withOperational bool) http.Handler {
	mux := http.NewServeMux()
	if withOperational {
		s.operationalRoutes(mux)
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("POST /admin/drain", func(w http.ResponseWriter, _ *http.Request) {
		s.Drain("drain requested by an operator")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("draining\n"))
	})
	return mux
}

func (s *Server) operationalRoutes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{Registry: s.Metrics.Registry}))
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
}
