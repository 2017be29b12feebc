package loadgen

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// TicketClaims are the claims of a join ticket (docs/tickets.md).
type TicketClaims struct {
	Iss   string   `json:"iss"`
	Sub   string   `json:"sub"`
	Aud   string   `json:"aud"`
	Room  string   `json:"room"`
	World string   `json:"world"`
	WCV   int      `json:"wcv"`
	Name  string   `json:"name"`
	Perms []string `json:"perms"`
	Iat   int64    `json:"iat"`
	Exp   int64    `json:"exp"`
	Jti   string   `json:"jti"`
	// Rlt is the room lifetime (decision 009); relay-only runs use a
	// standalone relay, which hosts every room at any lifetime: always 1.
	Rlt uint64 `json:"rlt"`
}

// Minter signs join tickets the way the control plane does, for relay-only
// runs. It is safe for concurrent use.
type Minter struct {
	Key      ed25519.PrivateKey
	Kid      string
	Issuer   string // zero value: "plaza-control"
	Audience string // the relay id
	WorldID  string
	TTL      time.Duration // zero value: 30 s

	seq atomic.Uint64
	run string // random per minter, keeps jti unique across processes
}

// NewMinter builds a Minter from a 32-byte Ed25519 seed.
func NewMinter(seed []byte, kid, audience, world string) (*Minter, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ticket seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("ticket minter: %w", err)
	}
	return &Minter{Key: ed25519.NewKeyFromSeed(seed), Kid: kid, Audience: audience, WorldID: world, run: hex.EncodeToString(r[:])}, nil
}

// NewSeed returns a fresh random Ed25519 seed.
func NewSeed() ([]byte, error) {
	s := make([]byte, ed25519.SeedSize)
	_, err := rand.Read(s)
	return s, err
}

var b64 = base64.RawURLEncoding

// Mint returns a compact EdDSA JWT for user in room with every permission.
func (m *Minter) Mint(user, name, room string) (string, error) {
	iss := m.Issuer
	if iss == "" {
		iss = "plaza-control"
	}
	ttl := m.TTL
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	now := time.Now()
	c := TicketClaims{
		Iss: iss, Sub: user, Aud: m.Audience, Room: room, World: m.WorldID, WCV: 1, Name: name,
		Perms: []string{"move", "chat", "emote", "state"},
		Iat:   now.Unix(), Exp: now.Add(ttl).Unix(),
		Jti: fmt.Sprintf("lg-%s-%d", m.run, m.seq.Add(1)), Rlt: 1,
	}
	hdr, err := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": m.Kid})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(hdr) + "." + b64.EncodeToString(body)
	sig := ed25519.Sign(m.Key, []byte(signing))
	return signing + "." + b64.EncodeToString(sig), nil
}

// JWKS returns the public key set document the relay loads (--jwks-file).
func (m *Minter) JWKS() ([]byte, error) {
	pub := m.Key.Public().(ed25519.PublicKey)
	doc := map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(pub),
		"kid": m.Kid, "alg": "EdDSA", "use": "sig",
	}}}
	return json.MarshalIndent(doc, "", "  ")
}

// WriteJWKS writes the JWKS document to path (mode 0644: public keys only).
func (m *Minter) WriteJWKS(path string) error {
	b, err := m.JWKS()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write jwks: %w", err)
	}
	return nil
}
