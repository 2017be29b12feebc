package relay

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/coord"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
)

func TestAdminEndpointsAndMetrics(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-o", "alice")
	a.send(a.enc.ChatSend("hi", 1))
	a.expect(protocol.MessageChatMessage)
	base := "http://" + e.srv.AdminAddr()
	if code, body := httpGet(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	code, body := httpGet(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("metrics %d", code)
	}
	for _, want := range []string{
		"plaza_relay_connections 1", "plaza_relay_sessions 1", "plaza_relay_rooms 1",
		`plaza_relay_messages_in_total{kind="chat_send"} 1`, `plaza_relay_messages_out_total{kind="chat_message"} 1`,
		`plaza_relay_messages_in_bytes_total{kind="hello"}`, `plaza_relay_closes_total{code="4004",reason="slow_consumer"} 0`,
		`plaza_relay_ticket_rejections_total{reason="expired"} 0`, `plaza_relay_errors_sent_total{code="rate_limited"} 0`,
		`plaza_relay_max_connections `, `plaza_build_info{commit=`, "plaza_relay_tick_duration_seconds_bucket", "go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Series that could never be non-zero are not created.
	for _, never := range []string{`messages_in_total{kind="welcome"}`, `messages_out_total{kind="hello"}`, `messages_out_total{kind="invalid"}`, "_created"} {
		if strings.Contains(body, never) {
			t.Errorf("metrics hold %q", never)
		}
	}
	if code, _ := httpGet(t, base+"/debug/pprof/cmdline"); code != 200 {
		t.Fatalf("pprof %d", code)
	}
	// The load reporter runs every 100 ms in tests.
	rep := e.srv.Hub.cfg.Reporter.(*coord.MemoryReporter)
	deadline := time.Now().Add(2 * time.Second)
	for {
		l, n := rep.Last()
		if n > 0 && l.Connections == 1 && l.Sessions == 1 && l.Rooms == 1 && l.RelayID == testRelay && l.BytesOut > 0 && l.CPUSeconds > 0 && l.Region == "local" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("load report %+v (%d)", l, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOriginCheck(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.AllowedOrigins = []string{"https://game.example"} })
	h := http.Header{"Origin": []string{"https://evil.example"}}
	if _, err := dialOpts(t, e.url(), &websocket.DialOptions{HTTPHeader: h}); err == nil {
		t.Fatal("foreign origin accepted")
	}
	h.Set("Origin", "https://game.example")
	if _, err := dialOpts(t, e.url(), &websocket.DialOptions{HTTPHeader: h}); err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	if _, err := dialOpts(t, e.url(), nil); err != nil {
		t.Fatalf("no origin (native client) refused: %v", err)
	}
}

// selfSigned writes a loopback certificate and key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSJoinAndChat(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	e := startRelay(t, func(c *config.Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	url := "wss://" + e.srv.Addr() + "/ws"
	var clients []*client
	for _, u := range []string{"alice", "bob"} {
		c, err := dialOpts(t, url, opts)
		if err != nil {
			t.Fatalf("wss dial: %v", err)
		}
		c.send(c.enc.Hello(e.ticket("room-tls", u, nil), "x", 1))
		c.expect(protocol.MessageWelcome)
		clients = append(clients, c)
	}
	clients[0].expect(protocol.MessageMemberJoined)
	clients[0].send(clients[0].enc.ChatSend("over tls", 1))
	if m := clients[1].expect(protocol.MessageChatMessage).(*protocol.ChatMessageT); m.Text != "over tls" {
		t.Fatalf("%+v", m)
	}
	if _, err := dialOpts(t, "ws://"+e.srv.Addr()+"/ws", nil); err == nil {
		t.Fatal("plain ws accepted on a TLS listener")
	}
}

// failingStates is a RoomStateStore whose backend is down.
type failingStates struct{ *coord.MemoryRoomStates }

func (failingStates) Ready(context.Context) error { return errors.New("connection refused") }

func TestReadyzFailsWhenASeamIsDown(t *testing.T) {
	cfg := testConfig()
	signer := tickettest.NewSigner("k1")
	srv, err := New(cfg, Seams{States: failingStates{coord.NewMemoryRoomStates()}, Keys: ticket.StaticKeys{"k1": signer.Pub}}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	code, body := httpGet(t, "http://"+srv.AdminAddr()+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Fatalf("readyz %d %q", code, body)
	}
}
