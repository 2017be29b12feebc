package roomstate

import (
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
		{"delete", []step{{Set{Key: "a"}, ok, 1}, {Set{Key: "a", Delete: true}, ok, 2}, {Set{Key: "a", Delete: true}, common.ErrorCodeStateVersionConflict, 0}, {Set{Key: "a"}, ok, 1}}},
		{"cas delete", []step{{Set{Key: "a"}, ok, 1}, {Set{Key: "a", Delete: true, CompareAndSet: true, ExpectedVersion: 5}, common.ErrorCodeStateVersionConflict, 0}, {Set{Key: "a", Delete: true, CompareAndSet: true, ExpectedVersion: 1}, ok, 2}}},
		{"key limits", []step{{Set{Key: ""}, common.ErrorCodeStateKeyInvalid, 0}, {Set{Key: strings.Repeat("k", 9)}, common.ErrorCodeStateKeyInvalid, 0}, {Set{Key: "\xff"}, common.ErrorCodeStateKeyInvalid, 0}, {Set{Key: strings.Repeat("k", 8)}, ok, 1}}},
		{"value limit", []step{{Set{Key: "a", Value: []byte("12345")}, common.ErrorCodeStateValueTooLarge, 0}, {Set{Key: "a", Value: []byte("1234")}, ok, 1}}},
		{"key count", []step{{Set{Key: "a"}, ok, 1}, {Set{Key: "b"}, ok, 1}, {Set{Key: "c"}, common.ErrorCodeStateTooManyKeys, 0}, {Set{Key: "a"}, ok, 2}, {Set{Key: "a", Delete: true}, ok, 3}, {Set{Key: "c"}, ok, 1}}},
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
	r.Restore(snap)
	if e, _ := r.Apply(Set{Key: "a", CompareAndSet: true, ExpectedVersion: 1}, 2, lim); e.Version != 2 {
		t.Fatal("restore lost versions")
	}
}
