package transport

import (
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/lesismal/nbio"
)

// connTable finds a connection's *nbConn from its *nbio.Conn. nbio calls
// OnWrittenSize after every socket write, so this lookup is on the hottest
// path: a sync.Map there took ~3 % of the relay's CPU in W1. Sockets are
// indexed by file descriptor instead (nbio.Conn.Hash is the fd), in chunks
// allocated on first use; descriptors beyond the process's open-file limit
// at start (the limit was raised later) fall back to a sync.Map.
type connTable struct {
	mu     sync.Mutex // allocating chunks
	chunks []atomic.Pointer[connChunk]
	spill  sync.Map // *nbio.Conn -> *nbConn, for fds past the chunks
}

const connChunkSize = 1024

type connChunk [connChunkSize]atomic.Pointer[nbConn]

func newConnTable() *connTable {
	limit := 1 << 16
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur < 1<<24 {
		limit = int(rl.Cur)
	}
	return &connTable{chunks: make([]atomic.Pointer[connChunk], limit/connChunkSize+1)}
}

func (t *connTable) store(c *nbio.Conn, nc *nbConn) {
	fd := c.Hash()
	if fd < 0 || fd/connChunkSize >= len(t.chunks) {
		t.spill.Store(c, nc)
		return
	}
	slot := &t.chunks[fd/connChunkSize]
	ch := slot.Load()
	if ch == nil {
		t.mu.Lock()
		if ch = slot.Load(); ch == nil {
			ch = new(connChunk)
			slot.Store(ch)
		}
		t.mu.Unlock()
	}
	ch[fd%connChunkSize].Store(nc)
}

func (t *connTable) load(c *nbio.Conn) *nbConn {
	fd := c.Hash()
	if fd < 0 || fd/connChunkSize >= len(t.chunks) {
		if v, ok := t.spill.Load(c); ok {
			return v.(*nbConn)
		}
		return nil
	}
	if ch := t.chunks[fd/connChunkSize].Load(); ch != nil {
		if nc := ch[fd%connChunkSize].Load(); nc != nil && nc.nbc == c {
			return nc
		}
	}
	return nil
}

// remove forgets nc; a newer connection that reuses the fd is kept.
func (t *connTable) remove(c *nbio.Conn, nc *nbConn) {
	fd := c.Hash()
	if fd < 0 || fd/connChunkSize >= len(t.chunks) {
		t.spill.CompareAndDelete(c, nc)
		return
	}
	if ch := t.chunks[fd/connChunkSize].Load(); ch != nil {
		ch[fd%connChunkSize].CompareAndSwap(nc, nil)
	}
}
