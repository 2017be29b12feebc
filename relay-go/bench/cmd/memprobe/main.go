// Command memprobe measures a relay process's resident memory per idle joined
// WebSocket session: raw TCP clients (no client-side library in the relay
// process), handshake, Hello, read the Welcome, then stay idle.
package main

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

func rss(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v * 1024
		}
	}
	return 0
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mint(priv ed25519.PrivateKey, room, user string) string {
	h, _ := json.Marshal(map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": "k1"})
	now := time.Now().Unix()
	c, _ := json.Marshal(map[string]any{"iss": "plaza-control", "sub": user, "aud": "probe", "room": room, "world": "w", "wcv": 1,
		"name": user, "perms": []string{"move", "chat"}, "iat": now, "exp": now + 300, "jti": user, "rlt": 1})
	s := b64(h) + "." + b64(c)
	return s + "." + b64(ed25519.Sign(priv, []byte(s)))
}

func hello(ticket string) []byte {
	b := flatbuffers.NewBuilder(512)
	t := b.CreateString(ticket)
	protocol.HelloStart(b)
	protocol.HelloAddTicket(b, t)
	protocol.HelloAddProtocolVersion(b, 1)
	h := protocol.HelloEnd(b)
	protocol.EnvelopeStart(b)
	protocol.EnvelopeAddMessageType(b, protocol.MessageHello)
	protocol.EnvelopeAddMessage(b, h)
	protocol.FinishEnvelopeBuffer(b, protocol.EnvelopeEnd(b))
	return b.FinishedBytes()
}

// frame builds a masked client binary frame.
func frame(p []byte) []byte {
	var hdr []byte
	if len(p) < 126 {
		hdr = []byte{0x82, 0x80 | byte(len(p))}
	} else {
		hdr = []byte{0x82, 0x80 | 126, byte(len(p) >> 8), byte(len(p))}
	}
	mask := []byte{1, 2, 3, 4}
	out := append(hdr, mask...)
	for i, c := range p {
		out = append(out, c^mask[i%4])
	}
	return out
}

func main() {
	n := flag.Int("n", 5000, "sessions")
	bin := flag.String("relay", "/tmp/relay", "relay binary (go build -o /tmp/relay ./relay-go/cmd/relay)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "memprobe")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	jwksPath := dir + "/jwks.json"
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(pub), "kid": "k1", "alg": "EdDSA", "use": "sig"}}})
	_ = os.WriteFile(jwksPath, jwks, 0o600)
	cmd := exec.Command(*bin, "--relay-id", "probe", "--jwks-file", jwksPath, "--listen", "127.0.0.1:18300",
		"--admin-listen", "127.0.0.1:18301", "--idle-timeout", "10m", "--log-level", "error", "--max-connections", "20000", "--tick-rate", "20")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	defer cmd.Process.Kill()
	for i := 0; i < 100; i++ {
		if r, err := http.Get("http://127.0.0.1:18301/healthz"); err == nil {
			r.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	var conns []net.Conn
	open := func(i int) {
		c, err := net.Dial("tcp", "127.0.0.1:18300")
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 101 {
			panic(fmt.Sprint("handshake ", err, resp))
		}
		_, _ = c.Write(frame(hello(mint(priv, fmt.Sprintf("room-%d", i/50), fmt.Sprintf("u%d", i)))))
		// Read the Welcome frame header + payload.
		var h [4]byte
		if _, err := io.ReadFull(r, h[:2]); err != nil {
			panic(err)
		}
		l := int(h[1] & 0x7f)
		if l == 126 {
			io.ReadFull(r, h[2:4])
			l = int(binary.BigEndian.Uint16(h[2:4]))
		}
		buf := make([]byte, l)
		io.ReadFull(r, buf)
		if h[0] != 0x82 {
			panic(fmt.Sprintf("unexpected opcode %x: %q", h[0], buf))
		}
		conns = append(conns, c)
	}
	// Warm up: the first sessions pay for pools, worker goroutines, rooms.
	for i := 0; i < 200; i++ {
		open(i)
	}
	time.Sleep(2 * time.Second)
	base := rss(pid)
	for i := 200; i < 200+*n; i++ {
		open(i)
	}
	time.Sleep(3 * time.Second)
	after := rss(pid)
	fmt.Printf("sessions=%d rss_before=%d rss_after=%d per_session=%.0f bytes\n", *n, base, after, float64(after-base)/float64(*n))
	if p := os.Getenv("HEAP_PROFILE"); p != "" {
		hp, _ := http.Get("http://127.0.0.1:18301/debug/pprof/heap")
		hb, _ := io.ReadAll(hp.Body)
		_ = os.WriteFile(p, hb, 0o600)
	}
	m, _ := http.Get("http://127.0.0.1:18301/metrics")
	b, _ := io.ReadAll(m.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "plaza_relay_sessions ") || strings.HasPrefix(l, "plaza_relay_rooms ") || strings.HasPrefix(l, "go_goroutines ") || strings.HasPrefix(l, "go_memstats_heap_inuse_bytes ") {
			fmt.Println(l)
		}
	}
}
