package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
)

// This file is the only one that knows nbio. nbio runs connections on a few
// epoll event loops instead of a goroutine (and its stacks) per connection,
// which is what keeps an idle connection in a few KiB. Its writes never
// block: bytes the socket cannot take are kept in nbio's per-connection
// buffer. OnWrittenSize tells us how much of that buffer drained, which is
// how Buffered works.

// closeGrace is how long Close waits for the client's close frame once its
// own reached the socket.
const closeGrace = time.Second

// errClosing refuses writes after Close: nothing may follow a close frame.
var errClosing = errors.New("write: connection is closing")

// Server accepts WebSocket connections with nbio.
type Server struct {
	cfg      Config
	engine   *nbhttp.Engine
	upgrader *websocket.Upgrader

	mu      sync.Mutex
	ln      net.Listener
	conns   *connTable // *nbio.Conn -> *nbConn (for OnWrittenSize)
	handoff sync.Map   // *nbio.Conn -> struct{}; -race builds only, see NewServer
	open    atomic.Int64
}

// NewServer validates cfg and prepares (but does not start) the server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Accept == nil || cfg.MaxFrameBytes <= 0 || cfg.Path == "" {
		return nil, errors.New("new transport server: Accept, MaxFrameBytes and Path are required")
	}
	if cfg.SendBufferBytes <= 0 {
		cfg.SendBufferBytes = 256 << 10
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 5 * time.Second
	}
	logging.SetLevel(logging.LevelNone)
	s := &Server{cfg: cfg, conns: newConnTable()}

	u := websocket.NewUpgrader()
	u.CheckOrigin = cfg.CheckOrigin
	if u.CheckOrigin == nil {
		u.CheckOrigin = func(*http.Request) bool { return true }
	}
	u.KeepaliveTime = 0 // clears the handshake deadline; the relay runs its own hello and idle deadlines
	u.HandshakeTimeout = cfg.HandshakeTimeout
	u.MessageLengthLimit = 4 * cfg.MaxFrameBytes
	u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		if nc, ok := c.Session().(*nbConn); ok {
			nc.message(data, mt == websocket.TextMessage)
		}
	})
	u.SetPingHandler(func(c *websocket.Conn, data string) {
		nc, ok := c.Session().(*nbConn)
		if ok {
			nc.buffered.Add(wireLen(len(data))) // written() will count it out
		}
		_ = c.WriteMessage(websocket.PongMessage, []byte(data))
		if ok {
			nc.peer.Alive()
		}
	})
	u.SetCloseHandler(func(c *websocket.Conn, code int, reason string) {
		nc, ok := c.Session().(*nbConn)
		if ok {
			nc.clientClose.Store(&ClientClose{Code: uint16(code), Reason: reason})
		}
		// A client's close frame: echo it unless we started the close.
		if ok && nc.closing.Load() {
			return
		}
		if code == 1005 {
			_ = c.WriteMessage(websocket.CloseMessage, nil)
			return
		}
		_ = c.WriteClose(code, "")
	})
	u.OnClose(func(c *websocket.Conn, err error) {
		nc, ok := c.Session().(*nbConn)
		if !ok {
			return
		}
		if nc.done.CompareAndSwap(false, true) {
			if nc.nbc != nil {
				s.conns.remove(nc.nbc, nc)
			}
			s.open.Add(-1)
			if cc := nc.clientClose.Load(); cc != nil {
				err = cc
			}
			nc.peer.Closed(err)
		}
	})
	s.upgrader = u

	mux := http.NewServeMux()
	mux.HandleFunc(cfg.Path, s.serveWS)
	if cfg.Extra != nil {
		mux.Handle("/", cfg.Extra)
	}
	conf := nbhttp.Config{
		Network:                 "tcp",
		MaxLoad:                 max(cfg.MaxConnections, 1024) + 1024, // nbio's default is 10k
		Handler:                 mux,
		ReleaseWebsocketPayload: true,
		// Before the upgrade: the read deadline for the HTTP request (nbio
		// defaults to 120 s, which lets idle TCP connections linger).
		KeepaliveTime: cfg.HandshakeTimeout,
		// Nothing on this listener takes a body; bound what nbio buffers.
		MaxHTTPBodySize: 4 << 10,
		ReadLimit:       4*cfg.MaxFrameBytes + 64<<10,
		ServerExecutor:  inline,
		Listen: func(network, addr string) (net.Listener, error) {
			ln, err := net.Listen(network, addr)
			if err == nil {
				s.mu.Lock()
				s.ln = ln
				s.mu.Unlock()
			}
			return ln, err
		},
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("new transport server: load TLS key pair: %w", err)
		}
		conf.AddrsTLS = []string{cfg.Addr}
		conf.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		// llib's TLS (v1.2.2) decrypts a record in place in its input
		// buffer, frees that buffer to the allocator once the record was
		// the last one in it, and only then hands the plaintext (which
		// still points into it) to the websocket parser. With nbio's
		// default pooled allocator the freed buffer could be reused by a
		// flush worker's writeFrame while the parser still read it: a
		// use-after-free the race detector caught in TestTLSJoinAndChat.
		// The native allocator leaves buffers to the garbage collector, so
		// a freed buffer is never reused while referenced. Cost: one
		// allocation per TLS read buffer, on the wss path only.
		conf.TLSAllocator = &tls.NativeAllocator{}
	} else {
		conf.Addrs = []string{cfg.Addr}
	}
	s.engine = nbhttp.NewEngine(conf)
	u.Engine = s.engine
	// nbio hands a new connection from its accept goroutine to a poller
	// goroutine through epoll, which the race detector cannot see. In -race
	// builds, publish each connection through a sync.Map on open and read
	// it back before its data is handled, so that hand-off is a visible
	// happens-before edge. Other builds skip the map lookup per read: the
	// kernel orders the hand-off.
	if raceEnabled {
		s.engine.Engine.OnOpen(func(c *nbio.Conn) { s.handoff.Store(c, struct{}{}) })
		s.engine.OnData(func(c *nbio.Conn, data []byte) {
			s.handoff.Load(c)
			c.DataHandler()(c, data)
		})
		s.engine.OnClose(func(c net.Conn, _ error) { s.handoff.Delete(c) })
	}
	s.engine.OnWrittenSize(func(c *nbio.Conn, _ []byte, n int) {
		if nc := s.conns.load(c); nc != nil {
			nc.written(n)
		}
	})
	return s, nil
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	if err := s.engine.Start(); err != nil {
		return fmt.Errorf("start transport server: %w", err)
	}
	return nil
}

// Addr returns the bound listen address (after Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Open returns the number of open WebSocket connections.
func (s *Server) Open() int { return int(s.open.Load()) }

// Shutdown stops listening and closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.engine.Shutdown(ctx)
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if s.cfg.MaxConnections > 0 && s.open.Load() >= int64(s.cfg.MaxConnections) {
		http.Error(w, "relay full", http.StatusServiceUnavailable)
		return
	}
	wc, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader already answered
	}
	nbc := underlying(wc.UnderlayerConn())
	if nbc != nil && s.cfg.SocketSendBuffer > 0 {
		_ = nbc.SetWriteBuffer(s.cfg.SocketSendBuffer)
	}
	nc := &nbConn{ws: wc, nbc: nbc, low: int64(s.cfg.SendBufferBytes / 2), tls: s.cfg.TLSCertFile != "", maxFrame: s.cfg.MaxFrameBytes}
	if nbc != nil {
		s.conns.store(nbc, nc)
	}
	s.open.Add(1)
	peer := s.cfg.Accept(nc, r)
	if peer == nil {
		if nbc != nil {
			s.conns.remove(nbc, nc)
		}
		s.open.Add(-1)
		nc.done.Store(true)
		_ = wc.Conn.Close()
		return
	}
	nc.peer = peer
	wc.SetSession(nc)
	if nbc != nil {
		// Every byte the client sends after the upgrade passes nc.Parse
		// (frameguard.go) on its way to the websocket parser: nbio's
		// event loop hands a connection's data to its session's Parse.
		// The handler runs on that loop (the inline executor), so no data
		// of this connection is parsed before the swap.
		nbc.SetSession(nc)

		// nbhttp arms the HTTP-phase read deadline from its accept goroutine
		// right after handing the connection to a poller, which can run
		// after this upgrade cleared it (seen under load: idle sessions
		// dropped HandshakeTimeout after joining). Clear it once more when
		// any such late arm must have happened.
		time.AfterFunc(s.cfg.HandshakeTimeout/2, func() { _ = nbc.SetReadDeadline(time.Time{}) })
	}
}

// underlying finds the *nbio.Conn under nbhttp's and llib's TLS wrappers.
func underlying(c net.Conn) *nbio.Conn {
	for i := 0; i < 3 && c != nil; i++ {
		switch v := c.(type) {
		case *nbio.Conn:
			return v
		case *nbhttp.Conn:
			c = v.Conn
		case *tls.Conn:
			c = v.Conn()
		default:
			return nil
		}
	}
	return nil
}

// nbConn adapts *websocket.Conn to Conn.
type nbConn struct {
	ws   *websocket.Conn
	nbc  *nbio.Conn
	peer Peer
	low  int64

	tls      bool // wss: frames are written one by one (writeEach)
	maxFrame int
	// deadlineCleared is set by the first message (callbacks for one
	// connection are serial, so it needs no lock).
	deadlineCleared bool
	// scan follows the client's frame headers (frameguard.go); only the
	// connection's event loop touches it.
	scan        frameScan
	buffered    atomic.Int64
	wantWrite   atomic.Bool
	closing     atomic.Bool
	closeSent   atomic.Bool // the close frame reached the socket: grace armed
	done        atomic.Bool
	clientClose atomic.Pointer[ClientClose]
}

// message delivers one complete client message to the peer, refusing one
// over the size limit with 1009.
func (c *nbConn) message(data []byte, text bool) {
	if c.closing.Load() {
		return
	}
	if len(data) > c.maxFrame {
		c.Close(uint16(common.CloseCodeMessageTooBig), fmt.Sprintf("frame of %d bytes exceeds %d", len(data), c.maxFrame))
		return
	}
	if !c.deadlineCleared && c.nbc != nil {
		// See serveWS: the first message comes after any late arm of
		// the HTTP-phase deadline, so clearing it here is final.
		c.deadlineCleared = true
		_ = c.nbc.SetReadDeadline(time.Time{})
	}
	c.peer.Frame(data, text)
}

// wireLen is a server frame's size on the wire: payload plus header.
func wireLen(n int) int64 {
	switch {
	case n < 126:
		return int64(n + 2)
	case n < 1<<16:
		return int64(n + 4)
	}
	return int64(n + 10)
}

func (c *nbConn) WriteBinary(b []byte) error {
	return c.WriteBinaryBatch([][]byte{b})
}

// writeEach sends frames one WebSocket message (and one socket write) each,
// under nbio's per-connection lock. TLS connections use it: llib's TLS
// connection does not serialise a Write with the Close nbio runs when the
// peer goes away (a data race on the record cipher, found by -race), and
// only nbio's websocket methods take the lock that does.
func (c *nbConn) writeEach(frames [][]byte) error {
	if c.closing.Load() {
		return errClosing
	}
	for _, f := range frames {
		c.buffered.Add(wireLen(len(f)))
		if err := c.ws.WriteMessage(websocket.BinaryMessage, f); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// WriteBinaryBatch frames every message itself (server frames: FIN, binary
// opcode, no mask) into one pooled buffer and hands it to nbio in one
// Write, so a flush of k frames costs one syscall instead of k and no
// allocation. nbio copies whatever the socket does not take at once, so
// the buffer goes back to the pool on return. nbio's own writes (pongs,
// close) are each a single Write too, and nbio.Conn serialises Writes, so
// frames never interleave.
func (c *nbConn) WriteBinaryBatch(frames [][]byte) error {
	if c.tls {
		return c.writeEach(frames)
	}
	if c.closing.Load() {
		return errClosing // nothing may follow the close frame
	}
	var total int64
	for _, f := range frames {
		total += wireLen(len(f))
	}
	bp := writeBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	for _, f := range frames {
		buf = appendFrameHeader(buf, len(f))
		buf = append(buf, f...)
	}
	c.buffered.Add(total)
	_, err := c.ws.Conn.Write(buf)
	if cap(buf) <= maxPooledWrite {
		*bp = buf
		writeBufs.Put(bp)
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// writeBufs holds frame-assembly buffers; ones grown past maxPooledWrite
// (a burst of big state values) are left to the GC.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledWrite = 256 << 10

// appendFrameHeader appends an RFC 6455 server header for a final binary
// frame of n payload bytes.
func appendFrameHeader(buf []byte, n int) []byte {
	const finBinary = 0x80 | 0x2
	switch {
	case n < 126:
		return append(buf, finBinary, byte(n))
	case n < 1<<16:
		return append(buf, finBinary, 126, byte(n>>8), byte(n))
	}
	return append(buf, finBinary, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func (c *nbConn) Buffered() int { return int(c.buffered.Load()) }

// written accounts n bytes that reached the socket. With TLS, n counts
// ciphertext (slightly more than we added), so the count is clamped at 0
// and Buffered underestimates by the record overhead; that is harmless for
// a congestion signal.
func (c *nbConn) written(n int) {
	for {
		old := c.buffered.Load()
		nv := old - int64(n)
		if nv < 0 {
			nv = 0
		}
		if c.buffered.CompareAndSwap(old, nv) {
			if nv == 0 && c.closing.Load() {
				c.closeReachedSocket()
			}
			if nv <= c.low && c.wantWrite.CompareAndSwap(true, false) && c.peer != nil {
				c.peer.Writable()
			}
			return
		}
	}
}

func (c *nbConn) NotifyWritable() {
	c.wantWrite.Store(true)
	// The buffer may have drained before the flag was set.
	if c.buffered.Load() <= c.low && c.wantWrite.CompareAndSwap(true, false) {
		c.peer.Writable()
	}
}

// Close queues the close frame behind everything written before it (a
// socket stream cannot be reordered, and nbio's pending bytes may end in
// the middle of a frame). Its bytes are counted in buffered like a data
// frame's, so buffered reaching 0 means the close frame is on the socket:
// then the client gets closeGrace to answer (closeReachedSocket). A client
// that does not read for CloseWriteTimeout is cut off without it.
func (c *nbConn) Close(code uint16, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	if len(reason) > 120 { // a close frame payload is at most 125 bytes
		reason = reason[:120]
	}
	c.buffered.Add(wireLen(2 + len(reason)))
	_ = c.ws.WriteClose(int(code), reason)
	time.AfterFunc(CloseWriteTimeout, c.Abort)
	if c.buffered.Load() == 0 {
		c.closeReachedSocket()
	}
}

// closeReachedSocket arms the grace for the client's close answer, once.
func (c *nbConn) closeReachedSocket() {
	if c.closeSent.CompareAndSwap(false, true) {
		time.AfterFunc(closeGrace, c.Abort)
	}
}

func (c *nbConn) Abort() {
	c.closing.Store(true)
	_ = c.ws.Conn.Close()
}

func (c *nbConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }
