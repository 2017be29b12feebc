// Package tickettest mints real EdDSA tickets for tests: a fresh Ed25519
// key per Signer, the same wire format the control plane produces.
package tickettest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"
)

// Signer holds one generated key.
type Signer struct {
	Kid  string
	Priv ed25519.PrivateKey
	Pub  ed25519.PublicKey
}

var counter atomic.Uint64

// NewSigner generates a key with the given kid.
func NewSigner(kid string) *Signer {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Signer{Kid: kid, Priv: priv, Pub: pub}
}

// JWKS returns a JWKS document publishing the signers' public keys.
func JWKS(signers ...*Signer) []byte {
	type key struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Use string `json:"use"`
	}
	doc := struct {
		Keys []key `json:"keys"`
	}{}
	for _, s := range signers {
		doc.Keys = append(doc.Keys, key{"OKP", "Ed25519", base64.RawURLEncoding.EncodeToString(s.Pub), s.Kid, "EdDSA", "sig"})
	}
	b, _ := json.Marshal(doc)
	return b
}

// Claims returns a valid claim set for user in room on relay, with a fresh
// jti, issued now and expiring in 30 s, for room lifetime 1 (rlt) and no
// mute. Tests edit the map before Mint.
func Claims(relay, room, user string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"iss":   "plaza-control",
		"sub":   user,
		"aud":   relay,
		"room":  room,
		"world": "world-1",
		"wcv":   1,
		"name":  "Name " + user,
		"perms": []string{"move", "chat", "emote", "state"},
		"iat":   now,
		"exp":   now + 30,
		"jti":   fmt.Sprintf("jti-%d-%d", now, counter.Add(1)),
		"rlt":   1,
	}
}

// Mint signs claims with the header {"alg":"EdDSA","typ":"JWT","kid":Kid}.
func (s *Signer) Mint(claims map[string]any) string {
	return s.MintHeader(map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": s.Kid}, claims)
}

// MintHeader signs claims under an arbitrary header (for negative tests).
func (s *Signer) MintHeader(header, claims map[string]any) string {
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sig := ed25519.Sign(s.Priv, []byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}
