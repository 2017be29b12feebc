package transport

// inline is nbio's executor for message callbacks: it runs them on the
// event-loop goroutine that read the data, so a client message costs no
// goroutine hand-off, wake-up or stack growth (with nbio's default task
// pool, which starts a goroutine for nearly every message, those took
// about 15 % of the relay's CPU in W1: docs/decisions/005).
//
// That is only sound because a Peer's Frame never blocks (the Peer
// contract in transport.go): a blocked callback would stall every
// connection on its event loop. Panics need nothing here: nbio runs each
// callback inside its own recover (nbio.Conn.execute), and the relay's
// decoder has one of its own.
func inline(f func()) { f() }
