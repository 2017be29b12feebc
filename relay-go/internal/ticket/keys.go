package ticket

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// ErrUnknownKey is returned by a KeySet that has no key with the asked kid.
var ErrUnknownKey = errors.New("unknown key id")

// KeySet maps key ids to Ed25519 public keys.
//
// Key must be safe for concurrent use. It may block for I/O (a refetch) but
// must honour ctx; it returns ErrUnknownKey when the kid is still unknown.
type KeySet interface {
	Key(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// jwk is one entry of a JWKS document (RFC 8037 OKP keys only).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// ParseJWKS reads a JWKS document and returns its Ed25519 signing keys by
// kid. Entries of other types are skipped; a malformed Ed25519 entry is an
// error, as is a document without any usable key.
func ParseJWKS(b []byte) (map[string]ed25519.PublicKey, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	keys := make(map[string]ed25519.PublicKey, len(doc.Keys))
	for i, k := range doc.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "EdDSA") {
			continue
		}
		if k.Kid == "" {
			return nil, fmt.Errorf("parse jwks: key %d has no kid", i)
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("parse jwks: key %q: x is not a base64url Ed25519 public key", k.Kid)
		}
		keys[k.Kid] = ed25519.PublicKey(x)
	}
	if len(keys) == 0 {
		return nil, errors.New("parse jwks: no Ed25519 signing keys")
	}
	return keys, nil
}

// StaticKeys is a KeySet that never changes (tests, embedded use).
type StaticKeys map[string]ed25519.PublicKey

// Key implements KeySet.
func (s StaticKeys) Key(_ context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// RemoteKeysConfig configures RemoteKeys. Exactly one of URL and File is set.
type RemoteKeysConfig struct {
	// URL of the control plane's JWKS, e.g. http://127.0.0.1:8000/.well-known/jwks.json.
	URL string
	// File holding a JWKS document (local use, tests). Re-read like the URL.
	File string
	// MinRefetch is the shortest time between two loads triggered by an
	// unknown kid. Zero means 5 s.
	MinRefetch time.Duration
	// Timeout bounds one HTTP fetch. Zero means 3 s.
	Timeout time.Duration
	// Client is the HTTP client; nil means one with Timeout.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RemoteKeys is a KeySet loaded from a JWKS URL or file. An unknown kid
// triggers a reload at most once per MinRefetch (rotation: the control plane
// publishes a new key before signing with it); callers asking in between get
// ErrUnknownKey at once, so a flood of forged kids costs one fetch per window.
type RemoteKeys struct {
	cfg RemoteKeysConfig

	mu   sync.RWMutex
	keys map[string]ed25519.PublicKey

	loadMu   sync.Mutex // serializes loads
	lastLoad time.Time  // guarded by loadMu
}

// NewRemoteKeys validates cfg. It does not load; call Load.
func NewRemoteKeys(cfg RemoteKeysConfig) (*RemoteKeys, error) {
	if (cfg.URL == "") == (cfg.File == "") {
		return nil, errors.New("new remote keys: set exactly one of URL and File")
	}
	if cfg.MinRefetch == 0 {
		cfg.MinRefetch = 5 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RemoteKeys{cfg: cfg}, nil
}

// Load fetches the key set now, regardless of the refetch window, and
// replaces the current keys on success (keeping them on failure).
func (r *RemoteKeys) Load(ctx context.Context) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	return r.loadLocked(ctx)
}

func (r *RemoteKeys) loadLocked(ctx context.Context) error {
	r.lastLoad = r.cfg.Now()
	b, err := r.read(ctx)
	if err != nil {
		return fmt.Errorf("load jwks: %w", err)
	}
	keys, err := ParseJWKS(b)
	if err != nil {
		return fmt.Errorf("load jwks: %w", err)
	}
	r.mu.Lock()
	r.keys = keys
	r.mu.Unlock()
	return nil
}

func (r *RemoteKeys) read(ctx context.Context) ([]byte, error) {
	if r.cfg.File != "" {
		return os.ReadFile(r.cfg.File)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", r.cfg.URL, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// Loaded reports whether at least one key set has been loaded.
func (r *RemoteKeys) Loaded() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys != nil
}

func (r *RemoteKeys) lookup(kid string) (ed25519.PublicKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.keys[kid]
	return k, ok
}

// Key implements KeySet.
func (r *RemoteKeys) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := r.lookup(kid); ok {
		return k, nil
	}
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	// Another caller may have loaded while we waited.
	if k, ok := r.lookup(kid); ok {
		return k, nil
	}
	if r.cfg.Now().Sub(r.lastLoad) < r.cfg.MinRefetch {
		return nil, ErrUnknownKey
	}
	if err := r.loadLocked(ctx); err != nil {
		return nil, fmt.Errorf("%w (refetch failed: %v)", ErrUnknownKey, err)
	}
	if k, ok := r.lookup(kid); ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}
