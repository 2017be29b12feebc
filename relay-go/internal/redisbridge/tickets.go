package redisbridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// UsedTickets is the Redis ticket.UsedTickets: a used ticket is recorded
// as SET P ticket_used:{<jti>} 1 NX PXAT <forgetAt ms> (decision 009), so
// single use holds across relays and relay restarts until the ticket could
// not be accepted anyway. The key outlives the process that wrote it; the
// relay's in-memory replay cache stays in front (a replay this process saw
// costs no call).
type UsedTickets struct{ b *Bridge }

// Ready implements relay.ReadyChecker.
func (u *UsedTickets) Ready(ctx context.Context) error { return u.b.Ready(ctx) }

// Use implements ticket.UsedTickets. A forgetAt already past (the verifier
// refuses such tickets first) is clamped to a second from now: Redis drops
// a key whose PXAT has passed at once, which would forget the use.
func (u *UsedTickets) Use(ctx context.Context, jti string, forgetAt time.Time) (bool, error) {
	at := max(forgetAt.UnixMilli(), time.Now().Add(time.Second).UnixMilli())
	err := u.b.rdb.Do(ctx, "SET", u.b.keyspace.ticketUsed(jti), "1", "NX", "PXAT", at).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil // NX: the key exists, the ticket was used
	case err != nil:
		u.b.redisError("ticket_used")
		return false, fmt.Errorf("record ticket %q: %w", jti, err)
	}
	return true, nil
}
