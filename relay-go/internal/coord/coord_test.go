package coord

import (
	"context"
	"testing"
	"time"
)

func TestMemoryEventsRing(t *testing.T) {
	m := NewMemoryEvents(3)
	for i := 1; i <= 5; i++ {
		m.Publish(context.Background(), Event{Sequence: uint64(i)})
	}
	got := m.Events()
	if len(got) != 3 || got[0].Sequence != 3 || got[2].Sequence != 5 || m.Dropped() != 2 {
		t.Fatalf("events %+v dropped %d", got, m.Dropped())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, ok := m.Wait(ctx, func(e Event) bool { return e.Sequence == 1 }); ok {
		t.Fatal("found an overwritten event")
	}
}

func TestMemoryWorldConfigs(t *testing.T) {
	m := NewMemoryWorldConfigs(DefaultWorldConfig())
	w, _ := m.WorldConfig(context.Background(), "w1")
	if w.WorldID != "w1" || w.TickRateHz != 20 {
		t.Fatalf("%+v", w)
	}
	c := DefaultWorldConfig()
	c.WorldID, c.Version, c.TickRateHz = "w1", 2, 10
	if ok, err := m.Set(c); !ok || err != nil {
		t.Fatal(ok, err)
	}
	c.Version = 1
	if ok, _ := m.Set(c); ok {
		t.Fatal("older version stored")
	}
	c.Version, c.TickRateHz = 3, 0
	if _, err := m.Set(c); err == nil {
		t.Fatal("invalid config stored")
	}
	if w, _ := m.WorldConfig(context.Background(), "w1"); w.TickRateHz != 10 {
		t.Fatalf("%+v", w)
	}
}

func TestMemoryAssignmentsAndStates(t *testing.T) {
	ctx := context.Background()
	var a MemoryAssignments
	if ok, _ := a.Assigned(ctx, "any", 5); !ok {
		t.Fatal("unrestricted assignments refuse")
	}
	a.Restrict("r1")
	if ok, _ := a.Assigned(ctx, "r2", 1); ok {
		t.Fatal("restricted assignments accept others")
	}
	a.Assign("r3", 2)
	got, _ := a.AssignedAll(ctx, []RoomLifetime{{"r1", 9}, {"r3", 1}, {"r3", 2}, {"r2", 2}})
	if !got[0] || got[1] || !got[2] || got[3] {
		t.Fatalf("AssignedAll %v", got)
	}
	a.Release("r3")
	if ok, _ := a.Assigned(ctx, "r3", 2); ok {
		t.Fatal("released room still assigned")
	}
	s := NewMemoryRoomStates()
	if _, found, _ := s.Load(ctx, "r1", 1); found {
		t.Fatal("found unsaved")
	}
	_ = s.Save(ctx, RoomSnapshot{RoomID: "r1", Sequence: 9, RoomLifetime: 1})
	if snap, found, _ := s.Load(ctx, "r1", 1); !found || snap.Sequence != 9 {
		t.Fatal("save/load")
	}
	if _, found, _ := s.Load(ctx, "r1", 2); found {
		t.Fatal("a snapshot of lifetime 1 restored into lifetime 2")
	}
}
