package redisbridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// WorldConfigs is the Redis coord.WorldConfigSource. WorldConfig serves a
// cached config younger than WorldConfigMaxAge; otherwise it GETs
// P world:{<world>}:config (PLZW, verified and validated) with a short
// timeout. The version never goes backwards: a fetched or pushed (Set, from
// ReloadConfig) config older than or equal to the cached one is ignored.
// A world with no key (and nothing cached) gets the relay's default. When
// Redis fails, the cached config (or the default) is served.
type WorldConfigs struct {
	b *Bridge

	mu     sync.Mutex
	worlds map[string]*worldEntry
}

type worldEntry struct {
	cfg       coord.WorldConfig
	fetchedAt time.Time
	known     bool // cfg came from Redis or a ReloadConfig (not the default)
}

func newWorldConfigs(b *Bridge) *WorldConfigs {
	return &WorldConfigs{b: b, worlds: make(map[string]*worldEntry)}
}

// WorldConfig implements coord.WorldConfigSource.
func (w *WorldConfigs) WorldConfig(ctx context.Context, worldID string) (coord.WorldConfig, error) {
	w.mu.Lock()
	e := w.worlds[worldID]
	// Fresh, or Redis is known to be away: serve the cache without waiting.
	if e != nil && (time.Since(e.fetchedAt) < w.b.cfg.WorldConfigMaxAge || w.b.Ready(ctx) != nil) {
		cfg := e.cfg
		w.mu.Unlock()
		return cfg, nil
	}
	w.mu.Unlock()

	gctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	buf, err := w.b.rdb.Get(gctx, w.b.keyspace.worldConfig(worldID)).Bytes()
	var fetched *coord.WorldConfig
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		w.b.redisError("world_config")
		w.b.log.Warn("world config fetch failed; using the cached or default config", "world", worldID, "err", err)
	default:
		cfg, derr := decodeWorldConfig(buf)
		if derr == nil && cfg.WorldID != worldID {
			derr = fmt.Errorf("config is for world %q", cfg.WorldID)
		}
		if derr == nil {
			derr = cfg.Validate()
		}
		if derr != nil {
			w.b.log.Error("world config in redis refused; using the cached or default config", "world", worldID, "err", derr)
		} else {
			fetched = &cfg
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	e = w.worlds[worldID]
	if e == nil {
		def := w.b.cfg.DefaultWorld
		def.WorldID, def.Version = worldID, 0
		e = &worldEntry{cfg: def}
		w.worlds[worldID] = e
	}
	if fetched != nil && (!e.known || fetched.Version > e.cfg.Version) {
		e.cfg, e.known = *fetched, true
	}
	e.fetchedAt = time.Now()
	return e.cfg, nil
}

// Set stores a pushed config (ReloadConfig) unless the cache holds a
// version >= cfg's. It reports whether cfg was stored; the relay's
// ReloadConfig calls it (relay.configSetter).
func (w *WorldConfigs) Set(cfg coord.WorldConfig) (bool, error) {
	if cfg.WorldID == "" {
		return false, errors.New("set world config: empty world id")
	}
	if err := cfg.Validate(); err != nil {
		return false, fmt.Errorf("set world config %s: %w", cfg.WorldID, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.worlds[cfg.WorldID]
	if e != nil && e.known && e.cfg.Version >= cfg.Version {
		return false, nil
	}
	w.worlds[cfg.WorldID] = &worldEntry{cfg: cfg, fetchedAt: time.Now(), known: true}
	return true, nil
}
