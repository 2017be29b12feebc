package ticket

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayCache remembers ticket ids (jti) until their ticket expires, so a
// relay accepts each ticket once. Memory is bounded: it holds at most Max
// ids; expired ids are swept when the cache is full and every minute of use.
// When it is full of live ids, Use refuses (the caller closes with
// ServerOverloaded) rather than forgetting an id, which would allow a replay.
type ReplayCache struct {
	max int

	mu        sync.Mutex
	seen      map[string]time.Time // jti -> forget after
	lastSweep time.Time
}

// NewReplayCache returns a cache bounded to max ids (max <= 0 means 1<<20).
func NewReplayCache(max int) *ReplayCache {
	if max <= 0 {
		max = 1 << 20
	}
	return &ReplayCache{max: max, seen: make(map[string]time.Time)}
}

// UseResult is the outcome of ReplayCache.Use.
type UseResult int

const (
	// UseFirst: the id was not seen and is now remembered until forgetAt.
	UseFirst UseResult = iota
	// UseReplayed: the id was already used and has not expired.
	UseReplayed
	// UseFull: the cache holds max live ids; nothing was recorded.
	UseFull
)

// Use records jti until forgetAt and reports whether it is its first use.
func (c *ReplayCache) Use(jti string, forgetAt, now time.Time) UseResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.seen[jti]; ok && now.Before(at) {
		return UseReplayed
	}
	if len(c.seen) >= c.max || now.Sub(c.lastSweep) > time.Minute {
		c.sweepLocked(now)
	}
	if len(c.seen) >= c.max {
		return UseFull
	}
	c.seen[jti] = forgetAt
	return UseFirst
}

// Len returns the number of ids held.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *ReplayCache) sweepLocked(now time.Time) {
	c.lastSweep = now
	for k, at := range c.seen {
		if !now.Before(at) {
			delete(c.seen, k)
		}
	}
}

// UsedTickets records used ticket ids beyond one process, so single use
// survives a relay restart (decision 009: a used ticket belongs to its
// expiry, not to process memory).
//
// Use records jti until forgetAt and reports whether this was its first
// use; first=false means some relay process recorded it before. An error
// means nothing is known (the caller fails closed). Use must be safe for
// concurrent use and honour ctx; it is called once per join that passed
// every other ticket check.
type UsedTickets interface {
	Use(ctx context.Context, jti string, forgetAt time.Time) (first bool, err error)
}

// MemoryUsedTickets is UsedTickets in memory (tests): a ReplayCache
// without a bound, which a test may share between relays built in one
// process to stand for a shared store.
type MemoryUsedTickets struct {
	cache *ReplayCache
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewMemoryUsedTickets returns an empty record.
func NewMemoryUsedTickets() *MemoryUsedTickets {
	return &MemoryUsedTickets{cache: NewReplayCache(0)}
}

// Use implements UsedTickets.
func (m *MemoryUsedTickets) Use(_ context.Context, jti string, forgetAt time.Time) (bool, error) {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	switch m.cache.Use(jti, forgetAt, now()) {
	case UseFirst:
		return true, nil
	case UseReplayed:
		return false, nil
	}
	return false, errors.New("memory used tickets: full")
}
