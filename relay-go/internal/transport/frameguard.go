package transport

import (
	"encoding/binary"
	"net"
)

// The frame guard: nbio's websocket parser accepts unmasked client frames
// (RFC 6455 section 5.1 says a server MUST close the connection on one)
// and never reports a zero-length message (its message callback runs only
// for messages with a payload). nbConn therefore stands between nbio's
// event loop and the websocket parser (it is the nbio connection's
// session, an nbhttp.ParserCloser): Parse follows the client's frame
// headers in the plaintext stream, refuses an unmasked frame with close
// 1002, and delivers a zero-length data message to the peer in its place
// in the message order. Everything else is handed on to nbio unchanged.
//
// Cost: Parse looks at frame headers only (payload bytes are skipped by
// count), keeps its state in the connection (no allocation), and calls
// nbio's Parse once per read, except around a zero-length message.

// frameScan is where the client's byte stream stands: inside a frame's
// payload (left bytes to go) or inside a frame header (hdr, hdrN bytes).
type frameScan struct {
	left   uint64 // payload bytes of the current frame not yet seen
	msgLen uint64 // payload bytes of the open data message so far
	hdrN   uint8
	text   bool // the open data message is text
	failed bool // a violation was refused: nothing more is parsed
	hdr    [14]byte
}

// Frame header fields (RFC 6455 section 5.2).
const (
	finBit     = 0x80
	maskBit    = 0x80
	opContinue = 0x0
	opText     = 0x1
	opBinary   = 0x2
)

// headerLen returns the length of the frame header that starts with h, or
// 0 while h is too short to tell.
func headerLen(h []byte) int {
	if len(h) < 2 {
		return 0
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&maskBit != 0 {
		n += 4
	}
	return n
}

// payloadLen reads the payload length of a complete header h.
func payloadLen(h []byte) uint64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		return binary.BigEndian.Uint64(h[2:10])
	default:
		return uint64(n)
	}
}

// Parse implements nbhttp.ParserCloser: data is the next plaintext the
// client sent (TLS already removed). Runs on the connection's event loop.
func (c *nbConn) Parse(data []byte) error {
	sc := &c.scan
	if sc.failed {
		return nil // the 1002 close is under way; drop the rest
	}
	start := 0     // data[start:] not yet handed to nbio
	hdrStart := -1 // where the header being read began in data (-1: in an earlier read)
	for i := 0; i < len(data); {
		if sc.left > 0 {
			n := min(uint64(len(data)-i), sc.left)
			i += int(n)
			sc.left -= n
			continue
		}
		if sc.hdrN == 0 {
			hdrStart = i
		}
		sc.hdr[sc.hdrN] = data[i]
		sc.hdrN++
		i++
		need := headerLen(sc.hdr[:sc.hdrN])
		if need == 0 || int(sc.hdrN) < need {
			continue
		}
		h := sc.hdr[:sc.hdrN]
		sc.hdrN = 0
		if h[1]&maskBit == 0 {
			// Hand on what came before this frame (its order matters),
			// then refuse: nothing after an unmasked frame is trusted.
			if end := max(hdrStart, start); end > start {
				if err := c.ws.Parse(data[start:end]); err != nil {
					return err
				}
			}
			sc.failed = true
			c.Close(1002, "client frames must be masked (RFC 6455 section 5.1)")
			return nil
		}
		plen := payloadLen(h)
		sc.left = plen
		fin := h[0]&finBit != 0
		op := h[0] & 0x0f
		switch op {
		case opText, opBinary:
			sc.text, sc.msgLen = op == opText, plen
		case opContinue:
			sc.msgLen += plen
		default:
			continue // control frames do not touch the data message
		}
		if fin && sc.msgLen == 0 {
			// A zero-length message ends here (plen is 0): nbio drops it,
			// so let nbio parse everything up to it, then deliver it.
			if err := c.ws.Parse(data[start:i]); err != nil {
				return err
			}
			start = i
			c.message(nil, sc.text)
		}
	}
	if start < len(data) {
		return c.ws.Parse(data[start:])
	}
	return nil
}

// CloseAndClean implements nbhttp.ParserCloser.
func (c *nbConn) CloseAndClean(err error) { c.ws.CloseAndClean(err) }

// UnderlayerConn implements nbhttp.ParserCloser (nbio's TLS path finds the
// TLS connection through it).
func (c *nbConn) UnderlayerConn() net.Conn { return c.ws.UnderlayerConn() }
