package redisbridge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyspaceEntry is one row of schemas/keyspace.json.
type keyspaceEntry struct {
	Name    string `json:"name"`
	Scope   string `json:"scope"`
	Pattern string `json:"pattern"`
}

type keyspaceFile struct {
	DefaultPrefix string          `json:"default_prefix"`
	AllocSuffix   string          `json:"alloc_suffix"`
	Entries       []keyspaceEntry `json:"entries"`
}

func loadKeyspace(t *testing.T) keyspaceFile {
	t.Helper()
	buf, err := os.ReadFile(filepath.Join("..", "..", "..", "schemas", "keyspace.json"))
	if err != nil {
		t.Fatalf("read keyspace.json: %v", err)
	}
	var f keyspaceFile
	if err := json.Unmarshal(buf, &f); err != nil {
		t.Fatalf("decode keyspace.json: %v", err)
	}
	return f
}

// expand renders an entry's pattern with placeholder values, as the
// declaration says: scope prefix + pattern, <name> replaced by args[name].
func (f keyspaceFile) expand(t *testing.T, e keyspaceEntry, prefix string, args map[string]string) string {
	t.Helper()
	out := e.Pattern
	for name, v := range args {
		out = strings.ReplaceAll(out, "<"+name+">", v)
	}
	if strings.ContainsAny(out, "<>") {
		t.Fatalf("%s: placeholder left in %q (args %v)", e.Name, out, args)
	}
	switch e.Scope {
	case "P":
		return prefix + out
	case "A":
		return prefix + f.AllocSuffix + out
	}
	t.Fatalf("%s: unknown scope %q", e.Name, e.Scope)
	return ""
}

// TestKeyspaceMatchesDeclaration: every name the relay uses is declared in
// schemas/keyspace.json and renders exactly as declared.
func TestKeyspaceMatchesDeclaration(t *testing.T) {
	f := loadKeyspace(t)
	const prefix, relay, world, room, jti = "tp:", "relay-7", "lobby", "lobby.abc", "j1"
	k := keyspace{p: prefix, relay: relay}
	if f.AllocSuffix != allocSuffix {
		t.Fatalf("alloc suffix: declared %q, Go uses %q", f.AllocSuffix, allocSuffix)
	}
	if f.DefaultPrefix != defaultPrefix {
		t.Fatalf("default prefix: declared %q, Go uses %q", f.DefaultPrefix, defaultPrefix)
	}
	used := []struct {
		entry string
		args  map[string]string
		got   string
	}{
		{"relay_hb", map[string]string{"relay_id": relay}, k.relayHB()},
		{"relays", nil, k.relays()},
		{"events", nil, k.events()},
		{"world_config", map[string]string{"world_id": world}, k.worldConfig(world)},
		{"room_snapshot", map[string]string{"room_id": room}, k.roomSnapshot(room)},
		{"cmd_relay", map[string]string{"relay_id": relay}, k.cmdRelay()},
		{"cmd_all", nil, k.cmdAll()},
		{"room", map[string]string{"room_id": room}, k.room(room)},
		{"ticket_used", map[string]string{"jti": jti}, k.ticketUsed(jti)},
	}
	byName := map[string]keyspaceEntry{}
	for _, e := range f.Entries {
		byName[e.Name] = e
	}
	for _, u := range used {
		e, ok := byName[u.entry]
		if !ok {
			t.Errorf("%s: used by the relay but not declared in schemas/keyspace.json", u.entry)
			continue
		}
		if want := f.expand(t, e, prefix, u.args); u.got != want {
			t.Errorf("%s: relay builds %q, declaration says %q", u.entry, u.got, want)
		}
	}
}
