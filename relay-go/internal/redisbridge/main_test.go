package redisbridge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// testRedis is the private redis-server every test of this package uses
// (a random prefix per test keeps them apart).
var testRedis struct {
	port int
	dir  string
	cmd  *exec.Cmd
	url  string
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		fmt.Fprintln(os.Stderr, "redisbridge tests need a real redis-server on PATH (Debian package redis-server, /usr/bin/redis-server):", err)
		return 1
	}
	_ = bin
	SetClientLogger(testLogger())
	dir, err := os.MkdirTemp("", "plaza-redisbridge-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testRedis.port = ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	testRedis.dir = dir
	testRedis.url = "redis://127.0.0.1:" + strconv.Itoa(testRedis.port) + "/0"
	if err := startRedis(); err != nil {
		fmt.Fprintln(os.Stderr, "start redis-server:", err)
		return 1
	}
	defer stopRedis()
	return m.Run()
}

// startRedis starts redis-server on testRedis.port and waits until it
// answers PING.
func startRedis() error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(testRedis.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", testRedis.dir)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	testRedis.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(testRedis.port), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on port %d did not answer PING within 10s", testRedis.port)
}

// stopRedis kills the server (SIGKILL: an outage, not a clean shutdown).
func stopRedis() {
	if testRedis.cmd != nil && testRedis.cmd.Process != nil {
		_ = testRedis.cmd.Process.Kill()
		_ = testRedis.cmd.Wait()
		testRedis.cmd = nil
	}
}

var prefixN atomic.Int64

// testPrefix returns a fresh key prefix.
func testPrefix() string {
	return fmt.Sprintf("t%d-%d:", time.Now().UnixNano()%1e9, prefixN.Add(1))
}

func testLogger() *slog.Logger {
	if os.Getenv("PLAZA_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestBridge builds a bridge on the test server with a fresh prefix;
// edit tweaks the config. run starts Run; Shutdown is registered as cleanup.
func newTestBridge(t *testing.T, run bool, edit func(*Config)) *Bridge {
	t.Helper()
	cfg := Config{URL: testRedis.url, Prefix: testPrefix(), RelayID: "relay-t", HeartbeatInterval: 200 * time.Millisecond,
		DefaultWorld: coord.DefaultWorldConfig(), Logger: testLogger()}
	if edit != nil {
		edit(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan struct{})
	if run {
		go func() { _ = b.Run(context.Background()); close(runDone) }()
	} else {
		close(runDone)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
		<-runDone
	})
	return b
}

// rdb returns a plain client for the test's own reads and writes.
func rdb(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(testRedis.port)})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// eventually polls f every 10 ms until it returns true or d passed.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
