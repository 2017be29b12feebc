package soak

import "testing"

func TestChatTextRoundTrip(t *testing.T) {
	k := lineKey{sender: 4_000_000_000, n: 7}
	got, ok := parseChat([]byte(chatText(k, chatBytes)))
	if !ok || got != k {
		t.Fatalf("parse(%q) = %v, %v", chatText(k, chatBytes), got, ok)
	}
	for _, bad := range []string{"", "sk|", "sk|1|", "sk|x|1|", "lg|1|2|", "sk|99999999999|1|"} {
		if _, ok := parseChat([]byte(bad)); ok {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

func TestCheckCountsMissingDuplicateAndRange(t *testing.T) {
	room := &roomLedger{lines: map[uint64]lineKey{}}
	a, b := lineKey{1, 1}, lineKey{2, 1}
	room.confirm(5, a)
	room.confirm(6, b)
	room.confirm(9, lineKey{1, 2})
	full := &sessionLedger{room: room, recv: map[uint64]lineKey{}}
	full.chat(5, a)
	full.chat(6, b)
	full.chat(6, b) // duplicate
	full.event(9)   // range reaches 9, line 9 never received: missing
	left := &sessionLedger{room: room, recv: map[uint64]lineKey{}}
	left.chat(6, b) // joined at 6 and left: 5 and 9 are outside its range
	none := &sessionLedger{room: room, recv: map[uint64]lineKey{}}
	got := check([]*sessionLedger{full, left, none})
	want := ExactlyOnce{Expected: 4, Received: 3, Missing: 1, Duplicates: 1, SessionsChecked: 2}
	if got != want {
		t.Fatalf("check = %+v, want %+v", got, want)
	}
	wrong := &sessionLedger{room: room, recv: map[uint64]lineKey{}}
	wrong.chat(5, b)
	wrong.chat(6, b)
	if got := check([]*sessionLedger{wrong}); got.Mismatched != 1 || got.OK {
		t.Fatalf("a different line under a confirmed sequence: %+v", got)
	}
	if got := check([]*sessionLedger{left}); !got.OK {
		t.Fatalf("a clean session: %+v", got)
	}
}
