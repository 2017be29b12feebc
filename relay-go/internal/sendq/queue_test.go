package sendq

import (
	"fmt"
	"testing"
)

type op struct {
	kind  string // "r" reliable, "m" movement, "pop", "ppop" (paused pop), "resume"
	frame string
	want  string // PushResult name, popped frame, or resume bool
}

func TestQueuePolicy(t *testing.T) {
	name := map[PushResult]string{Queued: "queued", Replaced: "replaced", Overflow: "overflow", Closed: "closed"}
	cases := []struct {
		name string
		max  int
		ops  []op
	}{
		{"reliable in order, then movement", 4, []op{{"m", "m1", "queued"}, {"r", "a", "queued"}, {"r", "b", "queued"}, {"pop", "", "a"}, {"pop", "", "b"}, {"pop", "", "m1"}, {"pop", "", ""}}},
		{"latest movement wins", 4, []op{{"m", "m1", "queued"}, {"m", "m2", "replaced"}, {"m", "m3", "replaced"}, {"pop", "", "m3"}, {"pop", "", ""}}},
		{"reliable overflow", 2, []op{{"r", "a", "queued"}, {"r", "b", "queued"}, {"r", "c", "overflow"}, {"m", "m", "queued"}, {"pop", "", "a"}, {"r", "c", "queued"}, {"pop", "", "b"}, {"pop", "", "c"}, {"pop", "", "m"}}},
		{"paused pop keeps frames, resume reschedules", 2, []op{{"r", "a", "queued"}, {"ppop", "", ""}, {"resume", "", "true"}, {"resume", "", "false"}, {"pop", "", "a"}, {"pop", "", ""}, {"resume", "", "false"}}},
		{"ring compaction keeps order", 3, []op{{"r", "a", "queued"}, {"r", "b", "queued"}, {"pop", "", "a"}, {"r", "c", "queued"}, {"r", "d", "queued"}, {"r", "e", "overflow"}, {"pop", "", "b"}, {"pop", "", "c"}, {"pop", "", "d"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := New(c.max)
			for i, o := range c.ops {
				var got string
				switch o.kind {
				case "r":
					r, _ := q.PushReliable([]byte(o.frame))
					got = name[r]
				case "m":
					r, _ := q.PushMovement([]byte(o.frame))
					got = name[r]
				case "pop", "ppop":
					f, _ := q.Pop(o.kind == "ppop")
					got = string(f)
				case "resume":
					got = fmt.Sprint(q.Resume())
				}
				if got != o.want {
					t.Fatalf("op %d %+v: got %q", i, o, got)
				}
			}
		})
	}
}

func TestQueueScheduling(t *testing.T) {
	q := New(8)
	if _, s := q.PushReliable([]byte("a")); !s {
		t.Fatal("first push must schedule")
	}
	if _, s := q.PushMovement([]byte("m")); s {
		t.Fatal("push while scheduled must not schedule again")
	}
	q.Pop(false)
	q.Pop(false)
	if f, _ := q.Pop(false); f != nil {
		t.Fatal("expected empty")
	}
	if _, s := q.PushReliable([]byte("b")); !s {
		t.Fatal("push after drain must schedule")
	}
	q.Close()
	if r, s := q.PushReliable([]byte("c")); r != Closed || s {
		t.Fatal("closed queue accepted")
	}
	if n, m := q.Len(); n != 0 || m {
		t.Fatal("close must discard")
	}
}

func TestQueueKick(t *testing.T) {
	q := New(2)
	if !q.Kick() || q.Kick() {
		t.Fatal("kick schedules once")
	}
	if f, _ := q.Pop(false); f != nil {
		t.Fatal("empty")
	}
	if !q.Kick() {
		t.Fatal("kick after idle")
	}
	q.Close()
	if q.Kick() {
		t.Fatal("kick on closed")
	}
}
