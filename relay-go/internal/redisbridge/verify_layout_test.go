package redisbridge

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// The verifier's layouts are written by hand beside schemas/*.fbs. A field
// added to a schema but not to its layout is read by the generated accessor
// without being checked (a crafted buffer then panics the decoder), so each
// layout must have exactly as many slots as the generated builder starts
// its table with (flatc's `builder.StartObject(N)`).
func TestLayoutsHaveEverySlotOfTheirSchemaTable(t *testing.T) {
	union := commandLayout.fields[len(commandLayout.fields)-1].union
	cases := []struct {
		table  string // generated file under relay-go/gen/plaza
		layout *layout
	}{
		{"coord/WorldConfig.go", worldConfigLayout},
		{"protocol/StateEntry.go", stateEntryLayout},
		{"coord/RoomStateSnapshot.go", snapshotLayout},
		{"coord/RelayCommand.go", commandLayout},
		{"coord/Kick.go", union[1]},
		{"coord/Mute.go", union[2]},
		{"coord/Unmute.go", union[3]},
		{"coord/CloseRoom.go", union[4]},
		{"coord/Announce.go", union[5]},
		{"coord/Drain.go", union[6]},
		{"coord/ReloadConfig.go", union[7]},
	}
	start := regexp.MustCompile(`builder\.StartObject\((\d+)\)`)
	for _, c := range cases {
		src, err := os.ReadFile(filepath.Join("..", "..", "gen", "plaza", c.table))
		if err != nil {
			t.Fatal(err)
		}
		m := start.FindSubmatch(src)
		if m == nil {
			t.Fatalf("%s: no StartObject", c.table)
		}
		want, _ := strconv.Atoi(string(m[1]))
		if got := len(c.layout.fields); got != want {
			t.Errorf("%s has %d slots, its layout in verify.go %d", c.table, want, got)
		}
	}
}
