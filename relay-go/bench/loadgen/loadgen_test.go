package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/internal/ticket"
)

// The relay's own verifier must accept what the load generator mints.
func TestMintedTicketVerifiesWithRelayVerifier(t *testing.T) {
	seed, err := NewSeed()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMinter(seed, "k1", "relay-7", "w1")
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := m.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ticket.ParseJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ticket.NewVerifier(ticket.Config{Keys: ticket.StaticKeys(keys), Issuer: "plaza-control", Audience: "relay-7", Replay: ticket.NewReplayCache(100)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Mint("u1", "bot 1", "room-a")
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.Subject != "u1" || c.Room != "room-a" || c.World != "w1" || !c.Perms.Has(ticket.PermMove|ticket.PermChat) {
		t.Fatalf("claims %+v", c)
	}
	tok2, _ := m.Mint("u1", "bot 1", "room-a")
	if tok2 == tok {
		t.Fatal("two tickets with the same jti")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for v := int64(1); v <= 100000; v++ {
		h.Record(v)
	}
	s := h.Snapshot()
	if s.Count() != 100000 || s.Max != 100000 {
		t.Fatalf("count %d max %d", s.Count(), s.Max)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		got, want := float64(s.Quantile(q)), q*100000
		if got < want*0.99 || got > want*1.01 {
			t.Errorf("q%.2f = %.0f, want ~%.0f", q, got, want)
		}
	}
	var m Snapshot
	m.Merge(s)
	m.Merge(s)
	if m.Count() != 200000 || m.Quantile(0.5) != s.Quantile(0.5) {
		t.Fatal("merge")
	}
	for i := 0; i < histBuckets; i++ {
		if bucketOf(bucketLow(i)) != i {
			t.Fatalf("bucket %d: low %d maps to %d", i, bucketLow(i), bucketOf(bucketLow(i)))
		}
	}
}

func TestChatTextRoundTrip(t *testing.T) {
	txt := chatText(1234, 56, 1700000000123456, 48)
	if len(txt) != 48 {
		t.Fatalf("len %d", len(txt))
	}
	s, n, us, ok := parseChat([]byte(txt))
	if !ok || s != 1234 || n != 56 || us != 1700000000123456 {
		t.Fatalf("parse %q: %d %d %d %v", txt, s, n, us, ok)
	}
	for _, bad := range []string{"", "lg|", "lg|1|2", "xx|1|2|3|", "lg|a|2|3|"} {
		if _, _, _, ok := parseChat([]byte(bad)); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestChatCompletenessBookkeeping(t *testing.T) {
	w := &worker{plan: &Plan{}, events: map[string]uint64{}, chatPerRoom: map[int]uint64{}}
	s := &memberState{w: w, lastFrom: map[int]uint64{}}
	for _, n := range []uint64{1, 2, 2, 4, 3} {
		s.Chat(0, []byte(chatText(7, n, 0, 32)), 0)
	}
	if s.unique != 3 || s.dups != 2 || s.order != 1 {
		t.Fatalf("unique %d dups %d order %d", s.unique, s.dups, s.order)
	}
}

func FuzzParseChat(f *testing.F) {
	f.Add([]byte("lg|1|2|3|abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, n, us, ok := parseChat(b); ok {
			if s2, n2, us2, ok2 := parseChat([]byte(chatText(s, n, us, 0))); !ok2 || s2 != s || n2 != n || us2 != us {
				t.Fatalf("round trip %q", b)
			}
		}
	})
}

// A server that sends the same update twice must not look faster: the
// repeat is counted apart, not as a delivery or a latency sample.
func TestMovementRepeatsAreNotDeliveries(t *testing.T) {
	w := &worker{}
	w.measuring.Store(true)
	s := &memberState{w: w}
	now := time.Now().UnixMicro()
	sent := uint32(now / 1000)
	s.Movement(now, 7, sent)
	s.Movement(now, 7, sent)   // the same update again
	s.Movement(now, 8, sent)   // another sender, same time: a delivery
	s.Movement(now, 7, sent+1) // 7's next update
	if got, rep := s.moveRcv.Load(), s.moveRep.Load(); got != 3 || rep != 1 {
		t.Fatalf("delivered %d repeats %d, want 3 and 1", got, rep)
	}
	var samples uint64
	for i := range w.moveLat[0].counts {
		samples += w.moveLat[0].counts[i].Load()
	}
	if samples != 3 {
		t.Fatalf("latency samples %d, want 3", samples)
	}
}
