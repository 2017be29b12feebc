package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"

	coder "github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/lxzan/gws"
)

// Buffer sizes, kept equal wherever a library lets us set them.
const (
	readBufSize  = 4096 // per-connection read buffer (gws, gorilla) / per-read buffer (nbio)
	writeBufSize = 4096 // gorilla write buffer (pooled); gws only uses it for compression
)

// session is what the relay would hold per connected player: a way to send
// one binary frame.
type session interface {
	WriteBinary(p []byte) error
}

// handler is called for each received binary message (data valid only during
// the call). reply is the session the message arrived on.
type handler func(s session, data []byte)

// startFunc starts a server for one library on addr and returns a stop func.
type startFunc func(addr string, onOpen func(session), onMsg handler) (stop func(), err error)

var libs = map[string]startFunc{
	"nbio": func(a string, o func(session), m handler) (func(), error) { return startNbio(a, o, m, false) },
	// nbio-inline runs message handlers on the poller goroutine instead of
	// nbio's default goroutine pool (valid when handlers never block, which
	// is the relay's plan: a handler only pushes into the room's inbox).
	"nbio-inline": func(a string, o func(session), m handler) (func(), error) { return startNbio(a, o, m, true) },
	"gws":         startGws,
	"coder":       startCoder,
	"gorilla":     startGorilla,
	"raw":         startRaw,
}

// ---------------- nbio: nbhttp.Engine (non-blocking epoll mode) ----------------

type nbioSession struct{ c *nbws.Conn }

func (s nbioSession) WriteBinary(p []byte) error { return s.c.WriteMessage(nbws.BinaryMessage, p) }

func startNbio(addr string, onOpen func(session), onMsg handler, inline bool) (func(), error) {
	u := nbws.NewUpgrader()
	// No per-message read-deadline reset (none of the other servers here
	// sets deadlines either); 0 also clears the handshake deadline.
	u.KeepaliveTime = 0
	u.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) {
		onMsg(nbioSession{c}, data)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		onOpen(nbioSession{c})
	})
	conf := nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{addr},
		Handler:                 mux,
		ReadBufferSize:          readBufSize,
		ReleaseWebsocketPayload: true,
		// IOMod left at the default, IOModNonBlocking: all connections are
		// served by the epoll pollers, no goroutine per connection.
	}
	if inline {
		conf.ServerExecutor = func(f func()) { f() }
	}
	engine := nbhttp.NewEngine(conf)
	if err := engine.Start(); err != nil {
		return nil, err
	}
	return func() { engine.Stop() }, nil
}

// ---------------- gws: Upgrader + ReadLoop per connection ----------------

type gwsHandler struct {
	gws.BuiltinEventHandler
	onOpen func(session)
	onMsg  handler
}

func (h *gwsHandler) OnOpen(c *gws.Conn) { h.onOpen(gwsSession{c}) }
func (h *gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	h.onMsg(gwsSession{c}, m.Bytes())
	_ = m.Close()
}

type gwsSession struct{ c *gws.Conn }

func (s gwsSession) WriteBinary(p []byte) error { return s.c.WriteMessage(gws.OpcodeBinary, p) }

func startGws(addr string, onOpen func(session), onMsg handler) (func(), error) {
	up := gws.NewUpgrader(&gwsHandler{onOpen: onOpen, onMsg: onMsg}, &gws.ServerOption{
		ReadBufferSize:  readBufSize,
		WriteBufferSize: writeBufSize,
	})
	return serveHTTP(addr, func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		// gws's advice when sharing net/http: run ReadLoop on its own
		// goroutine and return, so net/http's per-request state can be freed.
		go c.ReadLoop()
	})
}

// ---------------- coder/websocket: Accept + read goroutine ----------------

type coderSession struct{ c *coder.Conn }

func (s coderSession) WriteBinary(p []byte) error {
	return s.c.Write(context.Background(), coder.MessageBinary, p)
}

func startCoder(addr string, onOpen func(session), onMsg handler) (func(), error) {
	return serveHTTP(addr, func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: coder.CompressionDisabled})
		if err != nil {
			return
		}
		s := coderSession{c}
		onOpen(s)
		// Read goroutine per connection; the handler returns (as for the others).
		go func() {
			ctx := context.Background()
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					return
				}
				onMsg(s, data)
			}
		}()
	})
}

// ---------------- gorilla/websocket (baseline) ----------------

type gorillaSession struct {
	mu *sync.Mutex
	c  *gorilla.Conn
}

func (s gorillaSession) WriteBinary(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.WriteMessage(gorilla.BinaryMessage, p)
}

func startGorilla(addr string, onOpen func(session), onMsg handler) (func(), error) {
	up := gorilla.Upgrader{
		ReadBufferSize:  readBufSize,
		WriteBufferSize: writeBufSize,
		WriteBufferPool: &sync.Pool{}, // idle connections do not pin a write buffer
	}
	return serveHTTP(addr, func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s := gorillaSession{mu: &sync.Mutex{}, c: c}
		onOpen(s)
		go func() {
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				onMsg(s, data)
			}
		}()
	})
}

func serveHTTP(addr string, h http.HandlerFunc) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// ---------------- raw TCP: the physical floor ----------------
//
// No WebSocket at all: the client sends 'H', the server answers one byte;
// afterwards each byte the client sends is an ack ('A'). WriteBinary is a
// plain net.Conn.Write (one write syscall).

type rawSession struct{ c net.Conn }

func (s rawSession) WriteBinary(p []byte) error { _, err := s.c.Write(p); return err }

func startRaw(addr string, onOpen func(session), onMsg handler) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				s := rawSession{c}
				onOpen(s)
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					for i := 0; i < n; i++ {
						onMsg(s, buf[i:i+1])
					}
				}
			}()
		}
	}()
	return func() { _ = ln.Close() }, nil
}

func libNames() []string { return []string{"nbio", "nbio-inline", "gws", "coder", "gorilla"} }

func mustLib(name string) startFunc {
	f, ok := libs[name]
	if !ok {
		panic(fmt.Sprintf("unknown lib %q", name))
	}
	return f
}
