package transport

import (
	"fmt"
	"os"
	"runtime/debug"
)

// inline is nbio's executor for message callbacks: it runs them on the
// event-loop goroutine that read the data, so a client message costs no
// goroutine hand-off, wake-up or stack growth (with nbio's default task
// pool, which starts a goroutine for nearly every message, those took
// about 15 % of the relay's CPU in W1: docs/decisions/005).
//
// That is only sound because a Peer's Frame never blocks (the Peer
// contract in transport.go): a blocked callback would stall every
// connection on its event loop. A panic in a callback is reported and the
// event loop lives on (the relay's receive path has its own recover; this
// is the last line).
func inline(f func()) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "transport: callback panic: %v\n%s", r, debug.Stack())
		}
	}()
	f()
}
