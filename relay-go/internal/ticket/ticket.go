// Package ticket verifies the join tickets the control plane signs
// (docs/tickets.md): compact EdDSA JWTs checked with public keys only.
package ticket

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
)

// Reason names why a ticket was refused; it is the metrics label and maps to
// exactly one close code.
type Reason string

const (
	ReasonMalformed  Reason = "malformed"
	ReasonSignature  Reason = "signature"
	ReasonUnknownKey Reason = "unknown_key"
	ReasonExpired    Reason = "expired"
	ReasonNotYet     Reason = "not_yet_valid"
	ReasonWrongRelay Reason = "wrong_relay"
	ReasonWrongRoom  Reason = "wrong_room"
	ReasonReplayed   Reason = "replayed"
	ReasonOverloaded Reason = "replay_cache_full"
	// ReasonUnavailable: a check that needs the coordination layer (the
	// used-ticket record, the room's allocation) could not be made. The
	// relay fails closed: close 4009 ServerOverloaded, retryable with a new
	// ticket (decision 009).
	ReasonUnavailable Reason = "coordination_unavailable"
)

// Reasons lists every Reason (the metrics create each series at zero).
func Reasons() []Reason {
	return []Reason{ReasonMalformed, ReasonSignature, ReasonUnknownKey, ReasonExpired, ReasonNotYet,
		ReasonWrongRelay, ReasonWrongRoom, ReasonReplayed, ReasonOverloaded, ReasonUnavailable}
}

// CloseCode returns the WebSocket close code for a refusal.
func (r Reason) CloseCode() common.CloseCode {
	switch r {
	case ReasonSignature:
		return common.CloseCodeTicketSignature
	case ReasonUnknownKey:
		return common.CloseCodeTicketUnknownKey
	case ReasonExpired, ReasonNotYet:
		return common.CloseCodeTicketExpired
	case ReasonWrongRelay:
		return common.CloseCodeTicketWrongRelay
	case ReasonWrongRoom:
		return common.CloseCodeTicketWrongRoom
	case ReasonReplayed:
		return common.CloseCodeTicketReplayed
	case ReasonOverloaded, ReasonUnavailable:
		return common.CloseCodeServerOverloaded
	}
	return common.CloseCodeTicketMalformed
}

// Error is a refused ticket.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return "ticket " + string(e.Reason) + ": " + e.Detail }

func refuse(r Reason, format string, args ...any) error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the Reason of a ticket error (ReasonMalformed for others).
func ReasonOf(err error) Reason {
	var te *Error
	if errors.As(err, &te) {
		return te.Reason
	}
	return ReasonMalformed
}

// Claims are a verified ticket's claims.
type Claims struct {
	Issuer      string
	Subject     string // user id
	Audience    string // relay id
	Room        string
	World       string
	WorldConfig int64 // wcv
	Name        string
	Perms       Perms
	IssuedAt    time.Time
	Expires     time.Time
	ID          string // jti
	Session     string // sid, optional resume hint
	// RoomLifetime (rlt, required, >= 1) is the lifetime of the room's
	// allocation the ticket was minted for (decision 009): the relay opens
	// only that lifetime, and only while A room:<room> still names it.
	RoomLifetime uint64
	// MutedUntil (mut, optional Unix ms) is when the user's mute ends; the
	// zero time (claim absent or 0) means not muted.
	MutedUntil time.Time
}

// Perms is the set of message kinds a ticket allows.
type Perms uint8

const (
	PermMove Perms = 1 << iota
	PermChat
	PermEmote
	PermState
)

// Has reports whether all of p's bits are in ps.
func (ps Perms) Has(p Perms) bool { return ps&p == p }

// Config configures a Verifier.
type Config struct {
	Keys KeySet
	// Issuer the iss claim must equal, e.g. "plaza-control".
	Issuer string
	// Audience the aud claim must equal: this relay's id.
	Audience string
	// Skew accepted on exp (past) and iat (future). Zero means no skew.
	Skew time.Duration
	// Replay remembers used jti values; nil disables the single-use check.
	Replay *ReplayCache
	// Used records used jti values beyond this process (Redis), checked
	// after Replay accepted a jti; nil: single use is this process's memory
	// only.
	Used UsedTickets
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxBytes bounds the token length; zero means 4096.
	MaxBytes int
}

// Verifier checks tickets. It is safe for concurrent use.
type Verifier struct {
	cfg Config
}

// NewVerifier validates cfg and returns a Verifier.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Keys == nil || cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("new ticket verifier: Keys, Issuer and Audience are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 4096
	}
	return &Verifier{cfg: cfg}, nil
}

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

type rawClaims struct {
	Iss   *string         `json:"iss"`
	Sub   *string         `json:"sub"`
	Aud   json.RawMessage `json:"aud"`
	Room  *string         `json:"room"`
	World *string         `json:"world"`
	Wcv   *int64          `json:"wcv"`
	Name  *string         `json:"name"`
	Perms *[]string       `json:"perms"`
	Iat   *int64          `json:"iat"`
	Exp   *int64          `json:"exp"`
	Jti   *string         `json:"jti"`
	Sid   *string         `json:"sid"`
	Rlt   *int64          `json:"rlt"`
	Mut   *int64          `json:"mut"`
}

var b64 = base64.RawURLEncoding.Strict()

// Parse checks a token's structure and signature and returns its claims
// without the time, audience or single-use checks. Errors are *Error.
func (v *Verifier) Parse(ctx context.Context, token string) (*Claims, error) {
	if len(token) == 0 || len(token) > v.cfg.MaxBytes {
		return nil, refuse(ReasonMalformed, "token length %d", len(token))
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, refuse(ReasonMalformed, "not a compact JWS")
	}
	hb, err := b64.DecodeString(h64)
	if err != nil {
		return nil, refuse(ReasonMalformed, "header is not base64url")
	}
	var h header
	if err := strictJSON(hb, &h); err != nil {
		return nil, refuse(ReasonMalformed, "header: %v", err)
	}
	if h.Alg != "EdDSA" {
		return nil, refuse(ReasonMalformed, "alg %q is not EdDSA", h.Alg)
	}
	if h.Typ != "" && h.Typ != "JWT" {
		return nil, refuse(ReasonMalformed, "typ %q is not JWT", h.Typ)
	}
	if h.Kid == "" {
		return nil, refuse(ReasonMalformed, "no kid")
	}
	sig, err := b64.DecodeString(s64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, refuse(ReasonMalformed, "signature is not a base64url Ed25519 signature")
	}
	pb, err := b64.DecodeString(p64)
	if err != nil {
		return nil, refuse(ReasonMalformed, "payload is not base64url")
	}
	key, err := v.cfg.Keys.Key(ctx, h.Kid)
	if err != nil {
		return nil, refuse(ReasonUnknownKey, "kid %q: %v", h.Kid, err)
	}
	if !ed25519.Verify(key, []byte(token[:len(h64)+1+len(p64)]), sig) {
		return nil, refuse(ReasonSignature, "bad signature for kid %q", h.Kid)
	}
	var rc rawClaims
	if err := strictJSON(pb, &rc); err != nil {
		return nil, refuse(ReasonMalformed, "claims: %v", err)
	}
	return rc.claims()
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

func (rc *rawClaims) claims() (*Claims, error) {
	req := func(name string, s *string) (string, error) {
		if s == nil || *s == "" {
			return "", refuse(ReasonMalformed, "claim %s missing or empty", name)
		}
		return *s, nil
	}
	c := &Claims{}
	var err error
	if c.Issuer, err = req("iss", rc.Iss); err != nil {
		return nil, err
	}
	if c.Subject, err = req("sub", rc.Sub); err != nil {
		return nil, err
	}
	if c.Room, err = req("room", rc.Room); err != nil {
		return nil, err
	}
	if c.World, err = req("world", rc.World); err != nil {
		return nil, err
	}
	if c.Name, err = req("name", rc.Name); err != nil {
		return nil, err
	}
	if c.ID, err = req("jti", rc.Jti); err != nil {
		return nil, err
	}
	if rc.Sid != nil {
		c.Session = *rc.Sid
	}
	if rc.Iat == nil || rc.Exp == nil || rc.Wcv == nil {
		return nil, refuse(ReasonMalformed, "claims iat, exp and wcv are required")
	}
	c.WorldConfig = *rc.Wcv
	if rc.Rlt == nil || *rc.Rlt < 1 {
		return nil, refuse(ReasonMalformed, "claim rlt missing or below 1")
	}
	c.RoomLifetime = uint64(*rc.Rlt)
	if rc.Mut != nil {
		if *rc.Mut < 0 {
			return nil, refuse(ReasonMalformed, "claim mut is negative")
		}
		if *rc.Mut > 0 {
			c.MutedUntil = time.UnixMilli(*rc.Mut)
		}
	}
	c.IssuedAt, c.Expires = time.Unix(*rc.Iat, 0), time.Unix(*rc.Exp, 0)
	if len(rc.Aud) == 0 {
		return nil, refuse(ReasonMalformed, "claim aud missing")
	}
	var aud string
	if err := json.Unmarshal(rc.Aud, &aud); err != nil {
		var auds []string
		if err := json.Unmarshal(rc.Aud, &auds); err != nil || len(auds) != 1 {
			return nil, refuse(ReasonMalformed, "claim aud is not a string")
		}
		aud = auds[0]
	}
	c.Audience = aud
	if rc.Perms == nil {
		return nil, refuse(ReasonMalformed, "claim perms missing")
	}
	for _, p := range *rc.Perms {
		switch p {
		case "move":
			c.Perms |= PermMove
		case "chat":
			c.Perms |= PermChat
		case "emote":
			c.Perms |= PermEmote
		case "state":
			c.Perms |= PermState
		}
	}
	return c, nil
}

// Verify parses token and applies every check of docs/tickets.md: issuer,
// audience (this relay), expiry and issue time with skew, and single use
// (Replay in memory first, then Used; a jti Replay refuses costs no call to
// Used). The room and lifetime claims are checked by the caller, which
// knows what this relay hosts. Errors are *Error; use ReasonOf and
// Reason.CloseCode. A ticket refused for ReasonUnavailable is spent on this
// relay: the client asks the control plane for a new one.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := v.Parse(ctx, token)
	if err != nil {
		return nil, err
	}
	now := v.cfg.Now()
	if c.Issuer != v.cfg.Issuer {
		return nil, refuse(ReasonSignature, "issuer %q is not %q", c.Issuer, v.cfg.Issuer)
	}
	if c.Audience != v.cfg.Audience {
		return nil, refuse(ReasonWrongRelay, "ticket is for relay %q, this is %q", c.Audience, v.cfg.Audience)
	}
	if now.After(c.Expires.Add(v.cfg.Skew)) {
		return nil, refuse(ReasonExpired, "expired at %s", c.Expires.UTC().Format(time.RFC3339))
	}
	if c.IssuedAt.After(now.Add(v.cfg.Skew)) {
		return nil, refuse(ReasonNotYet, "issued in the future at %s", c.IssuedAt.UTC().Format(time.RFC3339))
	}
	if v.cfg.Replay != nil {
		switch v.cfg.Replay.Use(c.ID, c.Expires.Add(v.cfg.Skew), now) {
		case UseReplayed:
			return nil, refuse(ReasonReplayed, "jti %q already used", c.ID)
		case UseFull:
			return nil, refuse(ReasonOverloaded, "replay cache full")
		}
	}
	if v.cfg.Used != nil {
		first, err := v.cfg.Used.Use(ctx, c.ID, c.Expires.Add(v.cfg.Skew))
		if err != nil {
			return nil, refuse(ReasonUnavailable, "used-ticket record: %v", err)
		}
		if !first {
			return nil, refuse(ReasonReplayed, "jti %q already used (recorded in the coordination layer)", c.ID)
		}
	}
	return c, nil
}
