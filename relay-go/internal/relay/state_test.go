package relay

import (
	"strings"
	"testing"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
	"github.com/plaza-dev/plaza/relay-go/internal/wire"
)

func TestStateSetCASAndBroadcast(t *testing.T) {
	e := startRelay(t, nil)
	a, wa := e.join("room-s", "alice")
	b, _ := e.join("room-s", "bob")
	a.expect(protocol.MessageMemberJoined)

	a.send(a.enc.StateSet(&wire.StateSet{Key: "door", Value: []byte("open"), CompareAndSet: true, ExpectedVersion: 0, RequestID: 1}))
	for _, c := range []*client{a, b} {
		sc := c.expect(protocol.MessageStateChanged).(*protocol.StateChangedT)
		if sc.Entry.Key != "door" || string(sc.Entry.Value) != "open" || sc.Entry.Version != 1 || sc.Entry.UpdatedBy != wa.MemberId || sc.Sequence != 3 || sc.RequestId != 1 || sc.Deleted {
			t.Fatalf("state changed %+v entry %+v", sc, sc.Entry)
		}
	}
	// CAS "must not exist" on an existing key, and on a stale version.
	b.send(b.enc.StateSet(&wire.StateSet{Key: "door", Value: []byte("x"), CompareAndSet: true, ExpectedVersion: 0, RequestID: 2}))
	if er := b.expectError(common.ErrorCodeStateVersionConflict); er.RequestId != 2 || er.RequestType != byte(protocol.MessageStateSet) {
		t.Fatalf("%+v", er)
	}
	b.send(b.enc.StateSet(&wire.StateSet{Key: "door", Value: []byte("x"), CompareAndSet: true, ExpectedVersion: 7, RequestID: 3}))
	b.expectError(common.ErrorCodeStateVersionConflict)
	b.send(b.enc.StateSet(&wire.StateSet{Key: "door", Value: []byte("shut"), CompareAndSet: true, ExpectedVersion: 1, RequestID: 4}))
	if sc := a.expect(protocol.MessageStateChanged).(*protocol.StateChangedT); sc.Entry.Version != 2 || string(sc.Entry.Value) != "shut" || sc.Sequence != 4 {
		t.Fatalf("%+v", sc)
	}
	b.expect(protocol.MessageStateChanged)
	b.send(b.enc.StateSet(&wire.StateSet{Key: "door", Delete: true, RequestID: 5}))
	if sc := a.expect(protocol.MessageStateChanged).(*protocol.StateChangedT); !sc.Deleted || sc.Entry.Version != 3 {
		t.Fatalf("%+v", sc)
	}
	b.expect(protocol.MessageStateChanged)
	// A late joiner sees current state in the snapshot.
	a.send(a.enc.StateSet(&wire.StateSet{Key: "score", Value: []byte{9}, RequestID: 6}))
	a.expect(protocol.MessageStateChanged)
	_, wc := e.join("room-s", "carol")
	if len(wc.Snapshot.State) != 1 || wc.Snapshot.State[0].Key != "score" || wc.Snapshot.Sequence != 7 {
		t.Fatalf("snapshot state %+v seq %d", wc.Snapshot.State, wc.Snapshot.Sequence)
	}
}

func TestStateLimits(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		c.World.MaxStateKeyBytes, c.World.MaxStateValueBytes, c.World.MaxStateKeys = 8, 16, 2
	})
	a, _ := e.join("room-sl", "alice")
	cases := []struct {
		set  wire.StateSet
		code common.ErrorCode
	}{
		{wire.StateSet{Key: strings.Repeat("k", 9)}, common.ErrorCodeStateKeyInvalid},
		{wire.StateSet{Key: ""}, common.ErrorCodeStateKeyInvalid},
		{wire.StateSet{Key: "v", Value: make([]byte, 17)}, common.ErrorCodeStateValueTooLarge},
		{wire.StateSet{Key: "gone", Delete: true}, common.ErrorCodeStateVersionConflict},
	}
	for i, c := range cases {
		c.set.RequestID = uint32(i + 1)
		a.send(a.enc.StateSet(&c.set))
		if er := a.expectError(c.code); er.RequestId != uint32(i+1) {
			t.Fatalf("%+v", er)
		}
	}
	for _, k := range []string{"a", "b"} {
		a.send(a.enc.StateSet(&wire.StateSet{Key: k, Value: make([]byte, 16)}))
		a.expect(protocol.MessageStateChanged)
	}
	a.send(a.enc.StateSet(&wire.StateSet{Key: "c"}))
	a.expectError(common.ErrorCodeStateTooManyKeys)
}

func TestPingPong(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-p", "alice")
	a.send(a.enc.Ping(123456, 77))
	p := a.expect(protocol.MessagePong).(*protocol.PongT)
	if p.ClientTimeMs != 123456 || p.RequestId != 77 || p.ServerTimeMs == 0 {
		t.Fatalf("%+v", p)
	}
}

// A writer that read a key before it was deleted and re-created cannot
// overwrite the new key with a compare-and-set: versions never repeat for
// a key within a room lifetime (before the fix the re-created key started
// over at version 1 and the stale write applied).
func TestStaleCASAfterDeleteRefused(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-sv", "alice")
	versions := []uint64{}
	for i, set := range []*wire.StateSet{
		{Key: "door", Value: []byte("open"), CompareAndSet: true, RequestID: 1},
		{Key: "door", Delete: true, RequestID: 2},
		{Key: "door", Value: []byte("new"), RequestID: 3},
	} {
		a.send(a.enc.StateSet(set))
		sc := a.expect(protocol.MessageStateChanged).(*protocol.StateChangedT)
		if i > 0 && sc.Entry.Version <= versions[i-1] {
			t.Fatalf("version %d after %v", sc.Entry.Version, versions)
		}
		versions = append(versions, sc.Entry.Version)
	}
	// A writer that saw "door" at its first version, before the delete.
	a.send(a.enc.StateSet(&wire.StateSet{Key: "door", Value: []byte("stale"), CompareAndSet: true, ExpectedVersion: versions[0], RequestID: 4}))
	if er := a.expectError(common.ErrorCodeStateVersionConflict); er.RequestId != 4 {
		t.Fatalf("%+v", er)
	}
}
