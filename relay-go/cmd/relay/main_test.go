package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestRunRefusesBadConfig(t *testing.T) {
	if code := run([]string{"--tick-rate", "0"}); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}

// SIGTERM drains the relay and run returns 0 (the process exits 0).
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	doc := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","alg":"EdDSA","use":"sig"}]}`
	if err := os.WriteFile(jwks, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"--relay-id", "r1", "--jwks-file", jwks, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--drain-timeout", "2s", "--log-level", "error"})
	}()
	time.Sleep(300 * time.Millisecond) // let it listen and install the handler
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not stop on SIGTERM")
	}
}
