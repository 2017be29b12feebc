package relay

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/config"
)

// request does method url and returns the status and body.
func request(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With --metrics-listen the metrics listener serves /metrics, /healthz and
// /readyz and nothing else; the admin listener serves drain and pprof and
// nothing else (decision 013).
func TestMetricsListenerSplitsSafeFromPrivilegedEndpoints(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.MetricsListen = "127.0.0.1:0" })
	for e.srv.MetricsAddr() == "" {
		time.Sleep(5 * time.Millisecond)
	}
	if e.srv.MetricsAddr() == e.srv.AdminAddr() {
		t.Fatalf("one address %s for both listeners", e.srv.AdminAddr())
	}
	metricsBase, adminBase := "http://"+e.srv.MetricsAddr(), "http://"+e.srv.AdminAddr()

	if code, body := request(t, "GET", metricsBase+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("metrics listener /healthz %d %q", code, body)
	}
	if code, body := request(t, "GET", metricsBase+"/readyz"); code != 200 || !strings.HasPrefix(body, "ready\nboot_id ") {
		t.Errorf("metrics listener /readyz %d %q", code, body)
	}
	if code, body := request(t, "GET", metricsBase+"/metrics"); code != 200 || !strings.Contains(body, "plaza_relay_connections 0") {
		t.Errorf("metrics listener /metrics %d (%d bytes)", code, len(body))
	}
	for _, r := range [][2]string{
		{"POST", "/admin/drain"}, {"GET", "/admin/drain"}, {"GET", "/debug/pprof/"}, {"GET", "/debug/pprof/cmdline"},
		{"GET", "/debug/pprof/goroutine"}, {"GET", "/ws"}, {"GET", "/"},
	} {
		if code, _ := request(t, r[0], metricsBase+r[1]); code != http.StatusNotFound {
			t.Errorf("metrics listener %s %s: %d, want 404", r[0], r[1], code)
		}
	}
	if e.srv.Hub.Draining() {
		t.Fatal("a request to the metrics listener drained the relay")
	}

	for _, p := range []string{"/metrics", "/healthz", "/readyz", "/"} {
		if code, _ := request(t, "GET", adminBase+p); code != http.StatusNotFound {
			t.Errorf("admin listener GET %s: %d, want 404", p, code)
		}
	}
	if code, body := request(t, "GET", adminBase+"/debug/pprof/cmdline"); code != 200 || body == "" {
		t.Errorf("admin listener pprof %d %q", code, body)
	}
	if code, _ := request(t, "POST", adminBase+"/admin/drain"); code != http.StatusAccepted {
		t.Fatalf("admin listener drain %d", code)
	}
	// The drain shows on the metrics listener's /readyz.
	if code, body := request(t, "GET", metricsBase+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("metrics listener /readyz %d %q during drain", code, body)
	}
}

// Without --metrics-listen the admin listener serves every endpoint, as
// before the split, and there is no metrics listener.
func TestAdminListenerServesEverythingWithoutMetricsListen(t *testing.T) {
	e := startRelay(t, nil)
	if a := e.srv.MetricsAddr(); a != "" {
		t.Fatalf("metrics listener at %s without --metrics-listen", a)
	}
	base := "http://" + e.srv.AdminAddr()
	for _, p := range []string{"/metrics", "/healthz", "/readyz", "/debug/pprof/cmdline"} {
		if code, _ := request(t, "GET", base+p); code != 200 {
			t.Errorf("admin listener GET %s: %d, want 200", p, code)
		}
	}
	if code, _ := request(t, "GET", base+"/nope"); code != http.StatusNotFound {
		t.Errorf("admin listener GET /nope: %d, want 404", code)
	}
	if code, _ := request(t, "GET", base+"/admin/drain"); code != http.StatusMethodNotAllowed {
		t.Errorf("admin listener GET /admin/drain: %d, want 405", code)
	}
}

// A metrics listener that cannot bind fails the start and leaves no
// listener behind.
func TestMetricsListenerBindFailureStopsStart(t *testing.T) {
	first := startRelay(t, func(c *config.Config) { c.MetricsListen = "127.0.0.1:0" })
	for first.srv.MetricsAddr() == "" {
		time.Sleep(5 * time.Millisecond)
	}
	cfg := testConfig()
	cfg.MetricsListen = first.srv.MetricsAddr() // taken
	srv, err := New(cfg, Seams{Keys: first.srv.keys}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "metrics listener") {
		t.Fatalf("Run error %v, want a metrics listener error", err)
	}
}
