package transport

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// parseServerFrame reads one unmasked frame as RFC 6455 section 5.2 lays it
// out; it is written independently of appendFrameHeader on purpose.
func parseServerFrame(t *testing.T, b []byte) (fin bool, opcode byte, payload, rest []byte) {
	t.Helper()
	if len(b) < 2 {
		t.Fatalf("short frame: %d bytes", len(b))
	}
	fin, opcode = b[0]&0x80 != 0, b[0]&0x0f
	if b[1]&0x80 != 0 {
		t.Fatal("server frame is masked")
	}
	n, off := uint64(b[1]&0x7f), 2
	switch n {
	case 126:
		n, off = uint64(binary.BigEndian.Uint16(b[2:4])), 4
	case 127:
		n, off = binary.BigEndian.Uint64(b[2:10]), 10
	}
	if uint64(len(b)-off) < n {
		t.Fatalf("frame says %d payload bytes, %d left", n, len(b)-off)
	}
	return fin, opcode, b[off : off+int(n)], b[off+int(n):]
}

func TestAppendFrameHeaderAtEveryLengthBoundary(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	var buf []byte
	for i, n := range sizes {
		buf = appendFrameHeader(buf, n)
		buf = append(buf, bytes.Repeat([]byte{byte(i)}, n)...)
		if got, want := int64(len(buf)), sumWire(sizes[:i+1]); got != want {
			t.Fatalf("after %d frames: %d bytes, wireLen says %d", i+1, got, want)
		}
	}
	rest := buf
	for i, n := range sizes {
		var fin bool
		var op byte
		var payload []byte
		fin, op, payload, rest = parseServerFrame(t, rest)
		if !fin || op != 0x2 {
			t.Fatalf("frame %d: fin %v opcode %#x, want a final binary frame", i, fin, op)
		}
		if !bytes.Equal(payload, bytes.Repeat([]byte{byte(i)}, n)) {
			t.Fatalf("frame %d: payload of %d bytes corrupted", i, n)
		}
	}
	if len(rest) != 0 {
		t.Fatalf("%d trailing bytes", len(rest))
	}
}

func sumWire(sizes []int) int64 {
	var s int64
	for _, n := range sizes {
		s += wireLen(n)
	}
	return s
}
