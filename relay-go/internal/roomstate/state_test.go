package roomstate

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
)

func TestApply(t *testing.T) {
	lim := Limits{MaxKeyBytes: 8, MaxValueBytes: 4, MaxKeys: 2}
	type step struct {
		set     Set
		code    common.ErrorCode
		version uint64
	}
	ok := common.ErrorCodeUnknown
	cases := []struct {
		name  string
		steps []step
	}{
		{"versions grow by one", []step{{Set{Key: "a", Value: []byte("1")}, ok, 1}, {Set{Key: "a", Value: []byte("2")}, ok, 2}, {Set{Key: "a"}, ok, 3}}},
		{"cas create must not exist", []step{{Set{Key: "a", CompareAndSet: true}, ok, 1}, {Set{Key: "a", CompareAndSet: true}, common.ErrorCodeStateVersionConflict, 0}}},
		{"cas on version", []step{{Set{Key: "a"}, ok, 1}, {Set{Key: "a", CompareAndSet: true, ExpectedVersion: 2}, common.ErrorCodeStateVersionConflict, 0}, {Set{Key: "a", CompareAndSet: true, ExpectedVersion: 1}, ok, 2}}},
		{"delete", []step{{Set{Key: "a"}, ok, 1}, {Set{Key: "a", Delete: true}, ok, 2}, {Set{Key: "a", Delete: true}, common.ErrorCodeStateVersionConflict, 0}, {Set{Key: "a"}, ok, 3}}},
		{"cas delete", []step{{Set{Key: "a"}, ok, 1}, {Set{Key: "a", Delete: true, CompareAndSet: true, ExpectedVersion: 5}, common.ErrorCodeStateVersionConflict, 0}, {Set{Key: "a", Delete: true, CompareAndSet: true, ExpectedVersion: 1}, ok, 2}}},
		{"key limits", []step{{Set{Key: ""}, common.ErrorCodeStateKeyInvalid, 0}, {Set{Key: strings.Repeat("k", 9)}, common.ErrorCodeStateKeyInvalid, 0}, {Set{Key: "\xff"}, common.ErrorCodeStateKeyInvalid, 0}, {Set{Key: strings.Repeat("k", 8)}, ok, 1}}},
		{"value limit", []step{{Set{Key: "a", Value: []byte("12345")}, common.ErrorCodeStateValueTooLarge, 0}, {Set{Key: "a", Value: []byte("1234")}, ok, 1}}},
		{"key count", []step{{Set{Key: "a"}, ok, 1}, {Set{Key: "b"}, ok, 2}, {Set{Key: "c"}, common.ErrorCodeStateTooManyKeys, 0}, {Set{Key: "a"}, ok, 3}, {Set{Key: "a", Delete: true}, ok, 4}, {Set{Key: "c"}, ok, 5}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New()
			for i, st := range c.steps {
				e, code := s.Apply(st.set, 7, lim)
				if code != st.code || (code == ok && (e.Version != st.version || e.UpdatedBy != 7)) {
					t.Fatalf("step %d: got %v v%d, want %v v%d", i, code, e.Version, st.code, st.version)
				}
			}
		})
	}
}

func TestSnapshotRestore(t *testing.T) {
	s := New()
	lim := Limits{MaxKeyBytes: 8, MaxValueBytes: 8, MaxKeys: 8}
	s.Apply(Set{Key: "b", Value: []byte("2")}, 1, lim)
	s.Apply(Set{Key: "a", Value: []byte("1")}, 1, lim)
	snap := s.Snapshot()
	if len(snap) != 2 || snap[0].Key != "a" || snap[1].Key != "b" {
		t.Fatalf("snapshot %+v", snap)
	}
	r := New()
	r.Restore(snap, 0)
	if e, _ := r.Apply(Set{Key: "a", CompareAndSet: true, ExpectedVersion: 2}, 2, lim); e.Version != 3 {
		t.Fatal("restore lost versions")
	}
}

// A key's version never repeats within a room lifetime, across deletes and
// restores: otherwise a compare-and-set written against a version the key
// had before its delete could apply to the re-created key.
func TestVersionsNeverRepeatForAKey(t *testing.T) {
	lim := Limits{MaxKeyBytes: 8, MaxValueBytes: 8, MaxKeys: 3}
	keys := []string{"a", "b", "c", "d"}
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed))
		s := New()
		seen := map[string]map[uint64]bool{} // every version each key ever had
		cur := map[string]uint64{}           // the current version, 0 = absent
		var issued uint64                    // the highest version issued
		for step := 0; step < 300; step++ {
			k := keys[rng.IntN(len(keys))]
			set := Set{Key: k, Value: []byte{byte(step)}}
			switch rng.IntN(6) {
			case 0:
				set.Delete = true
			case 1:
				set.CompareAndSet, set.ExpectedVersion = true, cur[k]
			case 2: // a stale or made-up expectation
				set.CompareAndSet, set.ExpectedVersion = true, uint64(rng.IntN(int(issued)+2))
			case 3:
				set.Delete, set.CompareAndSet, set.ExpectedVersion = true, true, uint64(rng.IntN(int(issued)+2))
			case 4: // restore from a snapshot, as a room reopened in the same lifetime
				s2 := New()
				s2.Restore(s.Snapshot(), issued)
				s = s2
				continue
			}
			e, code := s.Apply(set, 1, lim)
			if set.CompareAndSet && set.ExpectedVersion != cur[k] && code == common.ErrorCodeUnknown {
				t.Fatalf("seed %d step %d: CAS on %q expecting v%d applied, current v%d", seed, step, k, set.ExpectedVersion, cur[k])
			}
			if code != common.ErrorCodeUnknown {
				continue
			}
			if seen[k][e.Version] {
				t.Fatalf("seed %d step %d: key %q got version %d a second time", seed, step, k, e.Version)
			}
			if e.Version <= issued {
				t.Fatalf("seed %d step %d: version %d not above %d", seed, step, e.Version, issued)
			}
			issued = e.Version
			if seen[k] == nil {
				seen[k] = map[uint64]bool{}
			}
			seen[k][e.Version] = true
			if set.Delete {
				delete(cur, k)
			} else {
				cur[k] = e.Version
			}
		}
	}
}

func TestStaleCompareAndSetAfterDeleteRefused(t *testing.T) {
	lim := Limits{MaxKeyBytes: 8, MaxValueBytes: 8, MaxKeys: 8}
	s := New()
	ok := common.ErrorCodeUnknown
	steps := []struct {
		description string
		set         Set
		code        common.ErrorCode
		version     uint64
	}{
		{"create", Set{Key: "door", CompareAndSet: true}, ok, 1},
		{"change", Set{Key: "door"}, ok, 2},
		{"delete", Set{Key: "door", Delete: true}, ok, 3},
		{"re-create", Set{Key: "door"}, ok, 4},
		{"a writer that saw v1 before the delete", Set{Key: "door", CompareAndSet: true, ExpectedVersion: 1}, common.ErrorCodeStateVersionConflict, 0},
		{"another key continues the room's count", Set{Key: "bell"}, ok, 5},
		{"the current version applies", Set{Key: "door", CompareAndSet: true, ExpectedVersion: 4}, ok, 6},
	}
	for _, st := range steps {
		e, code := s.Apply(st.set, 1, lim)
		if code != st.code || (code == ok && e.Version != st.version) {
			t.Fatalf("%s: got %v v%d, want %v v%d", st.description, code, e.Version, st.code, st.version)
		}
	}
	// A restore continues above the floor it is given, even when the key
	// holding the highest version was deleted before the snapshot.
	s.Apply(Set{Key: "door", Delete: true}, 1, lim) // v7
	r := New()
	r.Restore(s.Snapshot(), 7)
	if e, _ := r.Apply(Set{Key: "door"}, 1, lim); e.Version != 8 {
		t.Fatalf("after restore: v%d, want 8", e.Version)
	}
}
