// Package roomstate is a room's key/value state: versions, compare-and-set
// and limits, as pure code owned by the room goroutine (not safe for
// concurrent use).
package roomstate

import (
	"sort"
	"unicode/utf8"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
)

// Entry is one key.
type Entry struct {
	Key       string
	Value     []byte
	Version   uint64
	UpdatedBy uint32
}

// Limits bound the state. Zero fields mean "nothing allowed" except
// MaxValueBytes, where 0 allows only empty values.
type Limits struct {
	MaxKeyBytes   int
	MaxValueBytes int
	MaxKeys       int
}

// Set is one write request.
type Set struct {
	Key             string
	Value           []byte
	CompareAndSet   bool
	ExpectedVersion uint64 // with CompareAndSet: 0 = the key must not exist
	Delete          bool
}

// State holds the entries.
//
// Versions come from one counter per state (per room lifetime), not one per
// key: every accepted change takes the next number. So a key's version
// grows with each of its changes and never repeats, not even after the key
// was deleted and created again, and a compare-and-set written against a
// version the key had before (a stale client) can never match the new key.
// A tombstone per deleted key would do the same for that key only, and
// would grow without bound under create/delete churn; the counter is one
// number.
type State struct {
	entries map[string]*Entry
	// version is the highest version issued (0: none yet).
	version uint64
}

// New returns an empty state.
func New() *State { return &State{entries: make(map[string]*Entry)} }

// Restore replaces the state with entries (from a RoomStateStore). The
// next version issued is above floor and above every entry's version;
// floor must be at least the highest version issued before the snapshot
// was taken, including those of keys deleted since (the room passes its
// restored sequence, which every state change advanced, so it is never
// below the version count).
func (s *State) Restore(entries []Entry, floor uint64) {
	s.entries = make(map[string]*Entry, len(entries))
	s.version = floor
	for i := range entries {
		e := entries[i]
		s.entries[e.Key] = &e
		s.version = max(s.version, e.Version)
	}
}

// Version returns the highest version issued so far (0: none).
func (s *State) Version() uint64 { return s.version }

// Len returns the number of keys.
func (s *State) Len() int { return len(s.entries) }

// Snapshot returns copies of all entries sorted by key. Values are shared
// read-only (Apply never mutates a stored slice, it replaces it).
func (s *State) Snapshot() []Entry {
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Apply validates and applies set written by member `by` (0 = server). On
// success it returns the resulting entry (for a delete: the key with the
// version the deletion got and no value) and code ErrorCodeUnknown (0).
// Each accepted change gets the state's next version (the first is 1), so
// versions grow per key and never repeat within the state's life, across
// deletes (see State). A refused change issues no version. Rules, in order:
//   - key: 1..MaxKeyBytes bytes of valid UTF-8, else StateKeyInvalid
//   - value: at most MaxValueBytes, else StateValueTooLarge
//   - compare-and-set: the current version (0 when absent) must equal
//     ExpectedVersion, else StateVersionConflict
//   - delete of a missing key: StateVersionConflict
//   - a new key beyond MaxKeys: StateTooManyKeys
func (s *State) Apply(set Set, by uint32, lim Limits) (Entry, common.ErrorCode) {
	if len(set.Key) == 0 || len(set.Key) > lim.MaxKeyBytes || !utf8.ValidString(set.Key) {
		return Entry{}, common.ErrorCodeStateKeyInvalid
	}
	if !set.Delete && len(set.Value) > lim.MaxValueBytes {
		return Entry{}, common.ErrorCodeStateValueTooLarge
	}
	cur := s.entries[set.Key]
	var curVersion uint64
	if cur != nil {
		curVersion = cur.Version
	}
	if set.CompareAndSet && curVersion != set.ExpectedVersion {
		return Entry{}, common.ErrorCodeStateVersionConflict
	}
	if set.Delete {
		if cur == nil {
			return Entry{}, common.ErrorCodeStateVersionConflict
		}
		delete(s.entries, set.Key)
		s.version++
		return Entry{Key: set.Key, Version: s.version, UpdatedBy: by}, common.ErrorCodeUnknown
	}
	if cur == nil && len(s.entries) >= lim.MaxKeys {
		return Entry{}, common.ErrorCodeStateTooManyKeys
	}
	s.version++
	e := &Entry{Key: set.Key, Value: set.Value, Version: s.version, UpdatedBy: by}
	if e.Value == nil {
		e.Value = []byte{}
	}
	s.entries[set.Key] = e
	return *e, common.ErrorCodeUnknown
}
