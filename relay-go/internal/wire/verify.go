package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
)

// The Go FlatBuffers runtime reads whatever offsets a buffer contains and
// panics (or reads garbage) on hostile input. Verify walks every offset a
// decoder will follow for the client -> relay tables and proves it lies inside
// the buffer before any generated accessor runs. It follows the rules of the
// C++ flatbuffers::Verifier for the shapes our client tables use: tables,
// scalars, inline structs, strings (with their NUL terminator) and byte
// vectors. Client tables are at most two levels deep (Envelope -> message),
// so no depth or table-count limits are needed.

// fieldKind says how one vtable slot is laid out.
type fieldKind uint8

const (
	fScalar     fieldKind = iota // inline scalar of size bytes
	fStruct                      // inline struct of size bytes
	fString                      // uoffset to a string
	fByteVector                  // uoffset to a [ubyte]
	fTable                       // uoffset to a table (verified by the caller)
)

type field struct {
	kind fieldKind
	size int // inline size for fScalar/fStruct
}

// Table layouts, slot by slot, as declared in schemas/protocol.fbs.
var (
	envelopeFields  = []field{{fScalar, 1}, {fTable, 0}}
	helloFields     = []field{{fString, 0}, {fString, 0}, {fScalar, 2}}
	moveFields      = []field{{fStruct, TransformSize}, {fScalar, 8}}
	chatSendFields  = []field{{fString, 0}, {fScalar, 4}}
	emoteSendFields = []field{{fString, 0}, {fScalar, 4}}
	stateSetFields  = []field{{fString, 0}, {fByteVector, 0}, {fScalar, 1}, {fScalar, 8}, {fScalar, 1}, {fScalar, 4}}
	pingFields      = []field{{fScalar, 8}, {fScalar, 4}}
	leaveFields     = []field{}
)

// TransformSize is the inline size of plaza.common.Transform.
const TransformSize = 44

// errMalformed builds the error every verification failure returns.
func errMalformed(format string, args ...any) error {
	return &DecodeError{Code: common.ErrorCodeMalformedFrame, Msg: fmt.Sprintf(format, args...)}
}

// verifier holds the buffer being checked.
type verifier struct {
	buf []byte
}

func (v verifier) u32(pos int) uint32 { return binary.LittleEndian.Uint32(v.buf[pos:]) }
func (v verifier) u16(pos int) uint16 { return binary.LittleEndian.Uint16(v.buf[pos:]) }

// inBounds reports whether [pos, pos+n) lies inside the buffer.
func (v verifier) inBounds(pos, n int) bool {
	return pos >= 0 && n >= 0 && pos <= len(v.buf) && n <= len(v.buf)-pos
}

// root returns the position of the root table.
func (v verifier) root() (int, error) {
	if len(v.buf) < 8 {
		return 0, errMalformed("frame of %d bytes is shorter than a FlatBuffer", len(v.buf))
	}
	pos := int(v.u32(0))
	if !v.inBounds(pos, 4) {
		return 0, errMalformed("root offset %d outside the frame", pos)
	}
	return pos, nil
}

// table checks the table at tpos and its vtable, and returns the vtable
// position and size. Every field offset is then checked by slot.
func (v verifier) table(tpos int) (vt int, vtSize int, err error) {
	if !v.inBounds(tpos, 4) {
		return 0, 0, errMalformed("table at %d outside the frame", tpos)
	}
	soff := int32(v.u32(tpos))
	vt = tpos - int(soff)
	if !v.inBounds(vt, 4) {
		return 0, 0, errMalformed("vtable of table at %d outside the frame", tpos)
	}
	vtSize = int(v.u16(vt))
	tblSize := int(v.u16(vt + 2))
	if vtSize < 4 || vtSize%2 != 0 || !v.inBounds(vt, vtSize) {
		return 0, 0, errMalformed("vtable of table at %d has bad size %d", tpos, vtSize)
	}
	if tblSize < 4 || !v.inBounds(tpos, tblSize) {
		return 0, 0, errMalformed("table at %d has bad size %d", tpos, tblSize)
	}
	return vt, vtSize, nil
}

// fieldPos returns the absolute position of slot i, or 0 when absent.
func (v verifier) fieldPos(tpos, vt, vtSize, i int) int {
	slot := 4 + 2*i
	if slot+2 > vtSize {
		return 0
	}
	off := int(v.u16(vt + slot))
	if off == 0 {
		return 0
	}
	return tpos + off
}

// verifyTable checks every declared slot of the table at tpos. It returns the
// position of the table its (single) table-typed slot points to, 0 when
// absent or when the layout has none. No client table has two.
func (v verifier) verifyTable(tpos int, fields []field) (child int, err error) {
	vt, vtSize, err := v.table(tpos)
	if err != nil {
		return 0, err
	}
	tblSize := int(v.u16(vt + 2))
	for i, f := range fields {
		p := v.fieldPos(tpos, vt, vtSize, i)
		if p == 0 {
			continue
		}
		size := f.size
		if f.kind != fScalar && f.kind != fStruct {
			size = 4
		}
		if p-tpos+size > tblSize || !v.inBounds(p, size) {
			return 0, errMalformed("field %d of table at %d overruns the table", i, tpos)
		}
		switch f.kind {
		case fString, fByteVector:
			if err := v.vector(p, 1, f.kind == fString); err != nil {
				return 0, err
			}
		case fTable:
			target, err := v.offsetTarget(p)
			if err != nil {
				return 0, err
			}
			child = target
		}
	}
	return child, nil
}

// offsetTarget follows the uoffset stored at p.
func (v verifier) offsetTarget(p int) (int, error) {
	off := int(v.u32(p))
	if off == 0 {
		return 0, errMalformed("zero offset at %d", p)
	}
	target := p + off
	if target < p || !v.inBounds(target, 4) {
		return 0, errMalformed("offset at %d points outside the frame", p)
	}
	return target, nil
}

// vector checks the vector (or string) the uoffset at p points to: its length
// prefix and elements lie inside the buffer, and strings end with NUL.
func (v verifier) vector(p int, elemSize int, str bool) error {
	target, err := v.offsetTarget(p)
	if err != nil {
		return err
	}
	n := int(v.u32(target))
	// n*elemSize cannot overflow: elemSize is 1 here and n < 2^32.
	body := n * elemSize
	extra := 0
	if str {
		extra = 1
	}
	if !v.inBounds(target+4, body+extra) {
		return errMalformed("vector at %d of length %d overruns the frame", target, n)
	}
	if str && v.buf[target+4+body] != 0 {
		return errMalformed("string at %d is not NUL-terminated", target)
	}
	return nil
}
