package ticket

import (
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
