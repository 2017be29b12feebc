// Package coord holds the seams between the relay and the coordination layer
// (Redis): world configs in, room events out, operator commands in, room
// state snapshots, load reports and room assignments. Each seam is a small
// interface with a Memory implementation that makes the relay fully work
// standalone; internal/redisbridge implements them on Redis behind the same
// contracts.
package coord

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// WorldConfig mirrors plaza.coord.WorldConfig: how a world's rooms behave.
type WorldConfig struct {
	WorldID string
	// Version grows by one per change; older versions are ignored.
	Version            uint64
	RoomCapacity       int
	TickRateHz         int
	InterestRadius     float32 // 0: everyone sees everyone
	FarEveryTicks      int     // 0: far avatars are never sent
	MaxChatBytes       int
	ChatsPerSecond     float64
	ChatBurst          int
	MovesPerSecond     float64
	MoveBurst          int
	EmotesPerSecond    float64
	EmoteBurst         int
	StateSetsPerSecond float64
	StateSetBurst      int
	MaxStateKeyBytes   int
	MaxStateValueBytes int
	MaxStateKeys       int
	EmptyGrace         time.Duration
}

// DefaultWorldConfig is the relay's built-in world config (docs/relay.md).
func DefaultWorldConfig() WorldConfig {
	return WorldConfig{
		RoomCapacity: 100, TickRateHz: 20, InterestRadius: 0, FarEveryTicks: 5,
		MaxChatBytes: 512, ChatsPerSecond: 2, ChatBurst: 5,
		MovesPerSecond: 30, MoveBurst: 30, EmotesPerSecond: 2, EmoteBurst: 5,
		StateSetsPerSecond: 10, StateSetBurst: 20,
		MaxStateKeyBytes: 64, MaxStateValueBytes: 4096, MaxStateKeys: 256,
		EmptyGrace: 30 * time.Second,
	}
}

// Validate checks the fields a relay depends on.
func (w WorldConfig) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(w.RoomCapacity >= 1 && w.RoomCapacity <= 65535, "room capacity %d not in 1..65535", w.RoomCapacity)
	check(w.TickRateHz >= 1 && w.TickRateHz <= 120, "tick rate %d Hz not in 1..120", w.TickRateHz)
	check(w.InterestRadius >= 0, "interest radius %v is negative", w.InterestRadius)
	check(w.FarEveryTicks >= 0 && w.FarEveryTicks <= 65535, "far every ticks %d not in 0..65535", w.FarEveryTicks)
	check(w.MaxChatBytes >= 1 && w.MaxChatBytes <= 65535, "max chat bytes %d not in 1..65535", w.MaxChatBytes)
	check(w.ChatsPerSecond > 0 && w.ChatBurst >= 1, "chat rate %v/s burst %d must be positive", w.ChatsPerSecond, w.ChatBurst)
	check(w.MovesPerSecond > 0 && w.MoveBurst >= 1, "move rate %v/s burst %d must be positive", w.MovesPerSecond, w.MoveBurst)
	check(w.EmotesPerSecond > 0 && w.EmoteBurst >= 1, "emote rate %v/s burst %d must be positive", w.EmotesPerSecond, w.EmoteBurst)
	check(w.StateSetsPerSecond > 0 && w.StateSetBurst >= 1, "state set rate %v/s burst %d must be positive", w.StateSetsPerSecond, w.StateSetBurst)
	check(w.ChatBurst <= 65535 && w.MoveBurst <= 65535 && w.EmoteBurst <= 65535 && w.StateSetBurst <= 65535, "bursts must be at most 65535")
	check(w.MaxStateKeyBytes >= 1 && w.MaxStateKeyBytes <= 65535, "max state key bytes %d not in 1..65535", w.MaxStateKeyBytes)
	check(w.MaxStateValueBytes >= 0, "max state value bytes %d is negative", w.MaxStateValueBytes)
	check(w.MaxStateKeys >= 0 && w.MaxStateKeys <= 65535, "max state keys %d not in 0..65535", w.MaxStateKeys)
	check(w.EmptyGrace >= 0, "empty grace %v is negative", w.EmptyGrace)
	return errors.Join(errs...)
}

// WorldConfigSource returns the config a world's rooms use.
//
// WorldConfig must be safe for concurrent use and fast (it is called when a
// room is created); it returns the newest config it knows for worldID, or a
// default when the world has none. It never returns an invalid config.
type WorldConfigSource interface {
	WorldConfig(ctx context.Context, worldID string) (WorldConfig, error)
}

// MemoryWorldConfigs is a WorldConfigSource held in memory: a default plus
// per-world overrides pushed with Set (ReloadConfig commands).
type MemoryWorldConfigs struct {
	mu       sync.RWMutex
	fallback WorldConfig
	worlds   map[string]WorldConfig
}

// NewMemoryWorldConfigs returns a source that answers fallback for every
// world until Set gives one its own config.
func NewMemoryWorldConfigs(fallback WorldConfig) *MemoryWorldConfigs {
	return &MemoryWorldConfigs{fallback: fallback, worlds: make(map[string]WorldConfig)}
}

// WorldConfig implements WorldConfigSource.
func (m *MemoryWorldConfigs) WorldConfig(_ context.Context, worldID string) (WorldConfig, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if w, ok := m.worlds[worldID]; ok {
		return w, nil
	}
	w := m.fallback
	w.WorldID = worldID
	return w, nil
}

// Set stores cfg for cfg.WorldID unless a config with a version >= cfg's is
// already held. It reports whether cfg was stored.
func (m *MemoryWorldConfigs) Set(cfg WorldConfig) (bool, error) {
	if cfg.WorldID == "" {
		return false, errors.New("set world config: empty world id")
	}
	if err := cfg.Validate(); err != nil {
		return false, fmt.Errorf("set world config %s: %w", cfg.WorldID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.worlds[cfg.WorldID]; ok && cur.Version >= cfg.Version {
		return false, nil
	}
	m.worlds[cfg.WorldID] = cfg
	return true, nil
}
