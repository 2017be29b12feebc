package ticket

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/internal/ticket/tickettest"
)

func newVerifier(t testing.TB, s *tickettest.Signer, now time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(Config{
		Keys: StaticKeys{s.Kid: s.Pub}, Issuer: "plaza-control", Audience: "relay-a",
		Skew: 5 * time.Second, Replay: NewReplayCache(100), Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyTable(t *testing.T) {
	s := tickettest.NewSigner("k1")
	other := tickettest.NewSigner("k1")
	now := time.Now()
	edit := func(f func(c map[string]any)) string {
		c := tickettest.Claims("relay-a", "room-1", "u1")
		f(c)
		return s.Mint(c)
	}
	valid := s.Mint(tickettest.Claims("relay-a", "room-1", "u1"))
	cases := []struct {
		name  string
		token string
		want  Reason
		code  common.CloseCode
	}{
		{"forged signature", other.Mint(tickettest.Claims("relay-a", "room-1", "u1")), ReasonSignature, common.CloseCodeTicketSignature},
		{"tampered payload", func() string {
			p := strings.Split(valid, ".")
			return p[0] + "." + strings.Split(edit(func(c map[string]any) { c["sub"] = "admin" }), ".")[1] + "." + p[2]
		}(), ReasonSignature, common.CloseCodeTicketSignature},
		{"unknown kid", s.MintHeader(map[string]any{"alg": "EdDSA", "kid": "nope"}, tickettest.Claims("relay-a", "r", "u")), ReasonUnknownKey, common.CloseCodeTicketUnknownKey},
		{"alg none", s.MintHeader(map[string]any{"alg": "none", "kid": "k1"}, tickettest.Claims("relay-a", "r", "u")), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"alg HS256", s.MintHeader(map[string]any{"alg": "HS256", "kid": "k1"}, tickettest.Claims("relay-a", "r", "u")), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"no kid", s.MintHeader(map[string]any{"alg": "EdDSA"}, tickettest.Claims("relay-a", "r", "u")), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"expired beyond skew", edit(func(c map[string]any) { c["exp"] = now.Add(-6 * time.Second).Unix() }), ReasonExpired, common.CloseCodeTicketExpired},
		{"issued in the future", edit(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }), ReasonNotYet, common.CloseCodeTicketExpired},
		{"wrong audience", edit(func(c map[string]any) { c["aud"] = "relay-b" }), ReasonWrongRelay, common.CloseCodeTicketWrongRelay},
		{"wrong issuer", edit(func(c map[string]any) { c["iss"] = "someone" }), ReasonSignature, common.CloseCodeTicketSignature},
		{"missing room", edit(func(c map[string]any) { delete(c, "room") }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"missing jti", edit(func(c map[string]any) { delete(c, "jti") }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"missing perms", edit(func(c map[string]any) { delete(c, "perms") }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"float exp", edit(func(c map[string]any) { c["exp"] = 1.5 }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"missing rlt", edit(func(c map[string]any) { delete(c, "rlt") }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"rlt 0", edit(func(c map[string]any) { c["rlt"] = 0 }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"rlt negative", edit(func(c map[string]any) { c["rlt"] = -3 }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"rlt float", edit(func(c map[string]any) { c["rlt"] = 1.5 }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"rlt string", edit(func(c map[string]any) { c["rlt"] = "1" }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"mut negative", edit(func(c map[string]any) { c["mut"] = -1 }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"mut float", edit(func(c map[string]any) { c["mut"] = 1.5 }), ReasonMalformed, common.CloseCodeTicketMalformed},
		{"garbage", "not-a-token", ReasonMalformed, common.CloseCodeTicketMalformed},
		{"four parts", valid + ".x", ReasonMalformed, common.CloseCodeTicketMalformed},
		{"empty", "", ReasonMalformed, common.CloseCodeTicketMalformed},
		{"huge", strings.Repeat("a", 5000), ReasonMalformed, common.CloseCodeTicketMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := newVerifier(t, s, now).Verify(context.Background(), c.token)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := ReasonOf(err); got != c.want || got.CloseCode() != c.code {
				t.Fatalf("reason %s (%d), want %s (%d): %v", got, got.CloseCode(), c.want, c.code, err)
			}
		})
	}
}

func TestVerifyValidAndReplay(t *testing.T) {
	s := tickettest.NewSigner("k1")
	now := time.Now()
	v := newVerifier(t, s, now)
	c := tickettest.Claims("relay-a", "room-1", "u1")
	c["exp"] = now.Add(-4 * time.Second).Unix() // within skew
	c["perms"] = []string{"chat", "bogus"}
	c["sid"] = "old-session"
	tok := s.Mint(c)
	got, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "u1" || got.Room != "room-1" || got.World != "world-1" || got.Session != "old-session" || !got.Perms.Has(PermChat) || got.Perms.Has(PermMove) {
		t.Fatalf("claims %+v", got)
	}
	if _, err := v.Verify(context.Background(), tok); ReasonOf(err) != ReasonReplayed {
		t.Fatalf("second use: %v", err)
	}
	if got.RoomLifetime != 1 || !got.MutedUntil.IsZero() {
		t.Fatalf("rlt %d mut %v", got.RoomLifetime, got.MutedUntil)
	}
}

func TestVerifyLifetimeAndMute(t *testing.T) {
	s := tickettest.NewSigner("k1")
	now := time.Now()
	for _, c := range []struct {
		description string
		rlt         any
		mut         any // nil: claim absent
		wantMut     time.Time
	}{
		{"large lifetime, no mute", int64(1) << 53, nil, time.Time{}},
		{"mute 0 means not muted", 7, 0, time.Time{}},
		{"mute until a Unix ms", 2, now.Add(time.Hour).UnixMilli(), time.UnixMilli(now.Add(time.Hour).UnixMilli())},
	} {
		t.Run(c.description, func(t *testing.T) {
			cl := tickettest.Claims("relay-a", "room-1", "u1")
			cl["rlt"] = c.rlt
			if c.mut != nil {
				cl["mut"] = c.mut
			}
			got, err := newVerifier(t, s, now).Verify(context.Background(), s.Mint(cl))
			if err != nil {
				t.Fatal(err)
			}
			var want uint64
			switch v := c.rlt.(type) {
			case int:
				want = uint64(v)
			case int64:
				want = uint64(v)
			}
			if got.RoomLifetime != want || !got.MutedUntil.Equal(c.wantMut) {
				t.Fatalf("rlt %d mut %v, want %d %v", got.RoomLifetime, got.MutedUntil, want, c.wantMut)
			}
		})
	}
}

// failingUsed is a UsedTickets whose store is away.
type failingUsed struct{}

func (failingUsed) Use(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

// TestVerifyUsedOutlivesVerifier: a jti recorded in the shared UsedTickets
// is refused by a new Verifier (a restarted relay: its ReplayCache is
// empty), and a store that cannot answer refuses with ReasonUnavailable
// (4009), never accepting unchecked.
func TestVerifyUsedOutlivesVerifier(t *testing.T) {
	s := tickettest.NewSigner("k1")
	now := time.Now()
	used := NewMemoryUsedTickets()
	build := func(u UsedTickets) *Verifier {
		v, err := NewVerifier(Config{Keys: StaticKeys{s.Kid: s.Pub}, Issuer: "plaza-control", Audience: "relay-a",
			Skew: 5 * time.Second, Replay: NewReplayCache(100), Used: u, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tok := s.Mint(tickettest.Claims("relay-a", "room-1", "u1"))
	if _, err := build(used).Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := build(used).Verify(context.Background(), tok); ReasonOf(err) != ReasonReplayed || ReasonOf(err).CloseCode() != common.CloseCodeTicketReplayed {
		t.Fatalf("after restart: %v", err)
	}
	_, err := build(failingUsed{}).Verify(context.Background(), s.Mint(tickettest.Claims("relay-a", "room-1", "u1")))
	if ReasonOf(err) != ReasonUnavailable || ReasonOf(err).CloseCode() != common.CloseCodeServerOverloaded {
		t.Fatalf("store away: %v", err)
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := NewReplayCache(2)
	now := time.Now()
	if c.Use("a", now.Add(time.Second), now) != UseFirst || c.Use("b", now.Add(time.Hour), now) != UseFirst {
		t.Fatal("first uses")
	}
	if c.Use("a", now.Add(time.Second), now) != UseReplayed {
		t.Fatal("replay not detected")
	}
	if c.Use("c", now.Add(time.Hour), now) != UseFull {
		t.Fatal("cache grew past its bound")
	}
	later := now.Add(2 * time.Second) // "a" expired: sweeping frees a slot
	if c.Use("c", later.Add(time.Hour), later) != UseFirst || c.Len() != 2 {
		t.Fatalf("expired id not swept, len %d", c.Len())
	}
	if c.Use("a", later.Add(time.Second), later) != UseFull {
		t.Fatal("expected full")
	}
}

func TestRemoteKeysRefetchOnUnknownKidRateLimited(t *testing.T) {
	k1, k2 := tickettest.NewSigner("k1"), tickettest.NewSigner("k2")
	var doc atomic.Value
	doc.Store(tickettest.JWKS(k1))
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(doc.Load().([]byte))
	}))
	defer srv.Close()
	now := time.Now()
	clock := func() time.Time { return now }
	rk, err := NewRemoteKeys(RemoteKeysConfig{URL: srv.URL, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := rk.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rk.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	// Rotation: k2 is published; within the 5 s window no refetch happens.
	doc.Store(tickettest.JWKS(k1, k2))
	if _, err := rk.Key(ctx, "k2"); err == nil {
		t.Fatal("refetched inside the rate-limit window")
	}
	if fetches.Load() != 1 {
		t.Fatalf("fetches %d", fetches.Load())
	}
	now = now.Add(6 * time.Second)
	if _, err := rk.Key(ctx, "k2"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	for i := 0; i < 10; i++ {
		_, _ = rk.Key(ctx, "forged")
	}
	if fetches.Load() != 2 {
		t.Fatalf("unknown kids caused %d fetches, want 2", fetches.Load())
	}
}

func TestRemoteKeysFile(t *testing.T) {
	k1 := tickettest.NewSigner("k1")
	p := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(p, tickettest.JWKS(k1), 0o600); err != nil {
		t.Fatal(err)
	}
	rk, err := NewRemoteKeys(RemoteKeysConfig{File: p})
	if err != nil {
		t.Fatal(err)
	}
	if err := rk.Load(context.Background()); err != nil || !rk.Loaded() {
		t.Fatal(err)
	}
	if _, err := NewRemoteKeys(RemoteKeysConfig{}); err == nil {
		t.Fatal("no source accepted")
	}
}

func TestParseJWKS(t *testing.T) {
	for _, bad := range []string{`{`, `{"keys":[]}`, `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"a"}]}`, `{"keys":[{"kty":"RSA","kid":"a"}]}`} {
		if _, err := ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func FuzzParseTicket(f *testing.F) {
	s := tickettest.NewSigner("k1")
	f.Add(s.Mint(tickettest.Claims("relay-a", "room-1", "u1")))
	f.Add(s.MintHeader(map[string]any{"alg": "none", "kid": "k1"}, map[string]any{"sub": 1}))
	f.Add("eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.sig")
	f.Add("a.b.c")
	muted := tickettest.Claims("relay-a", "room-1", "u1")
	muted["mut"], muted["rlt"] = time.Now().Add(time.Hour).UnixMilli(), 1<<40
	f.Add(s.Mint(muted))
	v := newVerifier(f, s, time.Now())
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Parse(context.Background(), tok)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		if c.Subject == "" || c.Room == "" || c.ID == "" || c.RoomLifetime < 1 {
			t.Fatalf("accepted claims without required fields: %+v", c)
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	f.Add(tickettest.JWKS(tickettest.NewSigner("k1")))
	f.Add([]byte(`{"keys":[{"kty":"OKP"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParseJWKS(b)
		if err == nil && len(keys) == 0 {
			t.Fatal("no error and no keys")
		}
	})
}
