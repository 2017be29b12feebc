package config

import (
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParsePrecedence(t *testing.T) {
	c, err := Parse([]string{"--jwks-file", "config.go", "--tick-rate", "30"},
		env(map[string]string{"PLAZA_RELAY_TICK_RATE": "10", "PLAZA_RELAY_ROOM_CAPACITY": "7", "PLAZA_RELAY_ALLOWED_ORIGINS": "https://a.example, https://b.example", "PLAZA_RELAY_INTEREST_RADIUS": "12.5"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.World.TickRateHz != 30 || c.World.RoomCapacity != 7 || len(c.AllowedOrigins) != 2 || c.World.InterestRadius != 12.5 || c.Listen != "127.0.0.1:18100" || c.HelloTimeout != 5*time.Second {
		t.Fatalf("got %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no keys", nil, nil, "exactly one of --jwks-url and --jwks-file"},
		{"both keys", []string{"--jwks-file", "config.go", "--jwks-url", "http://127.0.0.1:1/j"}, nil, "exactly one"},
		{"bad env", []string{"--jwks-file", "config.go"}, map[string]string{"PLAZA_RELAY_TICK_RATE": "fast"}, "PLAZA_RELAY_TICK_RATE"},
		{"tick rate range", []string{"--jwks-file", "config.go", "--tick-rate", "0"}, nil, "tick rate 0"},
		{"half tls", []string{"--jwks-file", "config.go", "--tls-cert-file", "config.go"}, nil, "--tls-key-file"},
		{"missing file", []string{"--jwks-file", "/nonexistent/jwks.json"}, nil, "no such file"},
		{"bad listen", []string{"--jwks-file", "config.go", "--listen", "nope"}, nil, "--listen"},
		{"frame size", []string{"--jwks-file", "config.go", "--max-frame-bytes", "10"}, nil, "--max-frame-bytes"},
		{"unknown flag", []string{"--nope"}, nil, "not defined"},
		{"public url", []string{"--jwks-file", "config.go", "--public-url", "http://x"}, nil, "--public-url"},
		{"bad metrics listen", []string{"--jwks-file", "config.go", "--metrics-listen", "9200"}, nil, "--metrics-listen"},
		{"metrics on admin address", []string{"--jwks-file", "config.go", "--metrics-listen", "127.0.0.1:18200"}, nil, "same address as --admin-listen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.args, env(c.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// The admin listener defaults to loopback and the metrics listener to none
// (everything on the admin listener); both come from flags or variables.
func TestListenerDefaultsAndOverrides(t *testing.T) {
	c, err := Parse([]string{"--jwks-file", "config.go"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(c.AdminListen)
	if err != nil || !net.ParseIP(host).IsLoopback() || c.MetricsListen != "" {
		t.Fatalf("defaults admin %q metrics %q", c.AdminListen, c.MetricsListen)
	}
	c, err = Parse([]string{"--jwks-file", "config.go", "--admin-listen", "127.0.0.1:8200"},
		env(map[string]string{"PLAZA_RELAY_METRICS_LISTEN": "[::]:9200", "PLAZA_RELAY_ADMIN_LISTEN": "0.0.0.0:1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminListen != "127.0.0.1:8200" || c.MetricsListen != "[::]:9200" {
		t.Fatalf("admin %q metrics %q", c.AdminListen, c.MetricsListen)
	}
	// Port 0 twice is two distinct ephemeral ports (tests).
	if _, err := Parse([]string{"--jwks-file", "config.go", "--admin-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"}, env(nil), io.Discard); err != nil {
		t.Fatal(err)
	}
}

// Every flag (and so every environment variable) is documented with its
// default in docs/relay.md.
func TestEveryFlagDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "relay.md"))
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	Flags(fs, &c)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(string(doc), "`--"+f.Name+"`") || !strings.Contains(string(doc), "`"+EnvName(f.Name)+"`") {
			t.Errorf("flag --%s / %s missing from docs/relay.md", f.Name, EnvName(f.Name))
		}
	})
}
