package redisbridge

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The Go FlatBuffers runtime follows whatever offsets a buffer holds and
// panics (or allocates without bound) on hostile input. Everything this
// package reads from Redis (commands, world configs, room snapshots) is
// walked by verify first: every offset an accessor will follow must lie
// inside the buffer. The layouts below mirror schemas/*.fbs slot by slot.

type fieldKind uint8

const (
	fScalar   fieldKind = iota + 1 // inline scalar of size bytes
	fString                        // uoffset to a NUL-terminated string
	fBytes                         // uoffset to a [ubyte]
	fTable                         // uoffset to a table of layout sub
	fTableVec                      // uoffset to a vector of tables of layout sub
	fUnion                         // uoffset to a table chosen by the ubyte in the previous slot
)

type field struct {
	kind  fieldKind
	size  int
	sub   *layout
	union map[byte]*layout
}

type layout struct{ fields []field }

func scalar(n int) field { return field{kind: fScalar, size: n} }

var (
	str   = field{kind: fString}
	bytes = field{kind: fBytes}

	worldConfigLayout = &layout{fields: []field{
		str, scalar(8), scalar(2), scalar(2), scalar(4), scalar(2), scalar(2), scalar(4), scalar(2),
		scalar(4), scalar(2), scalar(4), scalar(2), scalar(4), scalar(2), scalar(2), scalar(4), scalar(2), scalar(2),
	}}
	stateEntryLayout = &layout{fields: []field{str, bytes, scalar(8), scalar(4)}}
	snapshotLayout   = &layout{fields: []field{str, str, scalar(8), {kind: fTableVec, sub: stateEntryLayout}, scalar(8), str, scalar(8), scalar(1)}} // ... room_lifetime, final
	commandLayout    = &layout{fields: []field{str, str, str, scalar(8), scalar(1), {kind: fUnion, union: map[byte]*layout{
		1: {fields: []field{str, str, str, scalar(1)}},               // Kick (room_id, user_id, reason, banned)
		2: {fields: []field{str, str, scalar(4), str}},               // Mute
		3: {fields: []field{str, str}},                               // Unmute
		4: {fields: []field{str, str}},                               // CloseRoom
		5: {fields: []field{scalar(1), str, str, str}},               // Announce
		6: {fields: []field{scalar(4), str}},                         // Drain
		7: {fields: []field{{kind: fTable, sub: worldConfigLayout}}}, // ReloadConfig
	}}}}
)

// errMalformed is wrapped by every verification failure.
var errMalformed = errors.New("malformed flatbuffer")

const maxDepth = 8

type verifier struct{ buf []byte }

func (v verifier) in(pos, n int64) bool { return pos >= 0 && n >= 0 && pos+n <= int64(len(v.buf)) }
func (v verifier) u32(pos int64) int64  { return int64(binary.LittleEndian.Uint32(v.buf[pos:])) }
func (v verifier) u16(pos int64) int64  { return int64(binary.LittleEndian.Uint16(v.buf[pos:])) }

// verify checks buf, whose root table has layout l. ident, when non-empty,
// must be the 4-byte file identifier at bytes 4..8.
func verify(buf []byte, l *layout, ident string) error {
	v := verifier{buf: buf}
	if !v.in(0, 8) {
		return fmt.Errorf("%w: %d bytes", errMalformed, len(buf))
	}
	if ident != "" && string(buf[4:8]) != ident {
		return fmt.Errorf("%w: file identifier %q, want %q", errMalformed, buf[4:8], ident)
	}
	return v.table(v.u32(0), l, 0)
}

func (v verifier) target(p int64) (int64, error) {
	if !v.in(p, 4) {
		return 0, fmt.Errorf("%w: offset at %d out of bounds", errMalformed, p)
	}
	t := p + v.u32(p)
	if !v.in(t, 4) {
		return 0, fmt.Errorf("%w: offset target %d out of bounds", errMalformed, t)
	}
	return t, nil
}

func (v verifier) table(tpos int64, l *layout, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested too deep", errMalformed)
	}
	if !v.in(tpos, 4) {
		return fmt.Errorf("%w: table at %d out of bounds", errMalformed, tpos)
	}
	vt := tpos - int64(int32(binary.LittleEndian.Uint32(v.buf[tpos:])))
	if !v.in(vt, 4) {
		return fmt.Errorf("%w: vtable at %d out of bounds", errMalformed, vt)
	}
	vtSize, tSize := v.u16(vt), v.u16(vt+2)
	if vtSize < 4 || vtSize%2 != 0 || !v.in(vt, vtSize) || !v.in(tpos, tSize) || tSize < 4 {
		return fmt.Errorf("%w: vtable sizes %d/%d", errMalformed, vtSize, tSize)
	}
	var unionType byte
	for i, f := range l.fields {
		slot := 4 + 2*int64(i)
		if slot+2 > vtSize {
			break
		}
		off := v.u16(vt + slot)
		if off == 0 {
			if f.kind == fScalar {
				unionType = 0
			}
			continue
		}
		fpos := tpos + off
		size := int64(4)
		if f.kind == fScalar {
			size = int64(f.size)
		}
		if off+size > tSize {
			return fmt.Errorf("%w: field %d outside its table", errMalformed, i)
		}
		switch f.kind {
		case fScalar:
			unionType = v.buf[fpos]
		case fString, fBytes:
			t, err := v.target(fpos)
			if err != nil {
				return err
			}
			n := v.u32(t)
			extra := int64(0)
			if f.kind == fString {
				extra = 1
			}
			if !v.in(t+4, n+extra) || (f.kind == fString && v.buf[t+4+n] != 0) {
				return fmt.Errorf("%w: vector at %d (length %d) out of bounds", errMalformed, t, n)
			}
		case fTable:
			t, err := v.target(fpos)
			if err != nil {
				return err
			}
			if err := v.table(t, f.sub, depth+1); err != nil {
				return err
			}
		case fTableVec:
			t, err := v.target(fpos)
			if err != nil {
				return err
			}
			n := v.u32(t)
			if !v.in(t+4, 4*n) {
				return fmt.Errorf("%w: table vector length %d out of bounds", errMalformed, n)
			}
			for j := int64(0); j < n; j++ {
				e, err := v.target(t + 4 + 4*j)
				if err != nil {
					return err
				}
				if err := v.table(e, f.sub, depth+1); err != nil {
					return err
				}
			}
		case fUnion:
			sub := f.union[unionType]
			if sub == nil {
				continue // NONE or a member added after this build: the caller refuses it
			}
			t, err := v.target(fpos)
			if err != nil {
				return err
			}
			if err := v.table(t, sub, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
