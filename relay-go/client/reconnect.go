package client

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// The reconnect rule, the one every Plaza client follows (docs/protocol.md
// §8): before reconnect attempt n (0-based, reset to 0 after a Welcome)
// wait
//
//	with a server hint:  hint + uniform(0, HintJitter)
//	without one:         uniform(0, min(BackoffMax, BackoffBase · 2^n))
//
// where the hint is the server's own pacing — a DisconnectNotice's
// resume.retry_after_ms, or the retry_after_ms (else Retry-After) of a 409,
// 429 or 503 join answer. The server already spreads its hints over its
// clients (a paced control plane hands refused joins distinct future
// slots), so a hint is kept sharp: only HintJitter is added, never the
// growing backoff term, which would blur the server's schedule into waves.
const (
	BackoffBase = 250 * time.Millisecond
	BackoffMax  = 10 * time.Second
	HintJitter  = 250 * time.Millisecond
)

// Backoff returns how long to wait before reconnect attempt attempt
// (0-based; negative counts as 0) given the server's hint (0 or negative:
// none), by the rule above. rnd(n) must return a uniform value in [0, n);
// nil uses math/rand/v2's Int64N. It never overflows, whatever attempt is.
func Backoff(attempt int, hint time.Duration, rnd func(n int64) int64) time.Duration {
	if rnd == nil {
		rnd = rand.Int64N
	}
	if hint > 0 {
		return hint + time.Duration(rnd(int64(HintJitter)))
	}
	ceiling := BackoffMax
	if attempt < 0 {
		attempt = 0
	}
	if attempt < 16 { // 250 ms · 2^16 is far past BackoffMax
		ceiling = min(BackoffMax, BackoffBase<<attempt)
	}
	return time.Duration(rnd(int64(ceiling)))
}

// CloseCode returns the WebSocket close code in a close kind as
// Handler.Closed and JoinError.Kind name it ("close_4107_Kicked" → 4107);
// false for kinds without one (conn_reset, dial, signin_http_503, ...).
func CloseCode(kind string) (int, bool) {
	rest, ok := strings.CutPrefix(kind, "close_")
	if !ok {
		return 0, false
	}
	digits, _, _ := strings.Cut(rest, "_")
	code, err := strconv.Atoi(digits)
	return code, err == nil
}

// Terminal reports whether close code code means "do not reconnect
// automatically" (docs/protocol.md §7): 1000 (you left), 1002 and 1009
// (client bugs) and every 41xx (kicked, banned, abuse, bad ticket, ...).
// Every other code means reconnect, after Backoff.
func Terminal(code int) bool {
	switch {
	case code == 1000, code == 1002, code == 1009:
		return true
	case code >= 4100 && code <= 4199:
		return true
	}
	return false
}
