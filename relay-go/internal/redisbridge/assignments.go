package redisbridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/plaza-dev/plaza/relay-go/internal/coord"
)

// Assignments is the Redis coord.Assignments: a room lifetime is this
// relay's while its allocation A room:<room_id> (written only by the
// control plane's scripts) names this relay in field relay and the
// lifetime in field lifetime (decision 009). Assigned is one
// HMGET A room:<room_id> relay lifetime; AssignedAll pipelines one HMGET
// per room in one round trip. A missing key or field, another relay, or
// another lifetime is false; only a failed call is an error.
type Assignments struct{ b *Bridge }

// Ready implements relay.ReadyChecker.
func (a *Assignments) Ready(ctx context.Context) error { return a.b.Ready(ctx) }

// Assigned implements coord.Assignments.
func (a *Assignments) Assigned(ctx context.Context, roomID string, lifetime uint64) (bool, error) {
	vals, err := a.b.rdb.HMGet(ctx, a.b.keyspace.room(roomID), "relay", "lifetime").Result()
	if err != nil {
		a.b.redisError("assignment")
		return false, fmt.Errorf("assignment of room %s: %w", roomID, err)
	}
	return a.matches(vals, lifetime), nil
}

// AssignedAll implements coord.Assignments.
func (a *Assignments) AssignedAll(ctx context.Context, rooms []coord.RoomLifetime) ([]bool, error) {
	out := make([]bool, len(rooms))
	if len(rooms) == 0 {
		return out, nil
	}
	cmds := make([]*redis.SliceCmd, len(rooms))
	_, err := a.b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range rooms {
			cmds[i] = p.HMGet(ctx, a.b.keyspace.room(r.RoomID), "relay", "lifetime")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		a.b.redisError("assignment_check")
		return nil, fmt.Errorf("assignments of %d rooms: %w", len(rooms), err)
	}
	for i, c := range cmds {
		out[i] = a.matches(c.Val(), rooms[i].Lifetime)
	}
	return out, nil
}

// matches reads an HMGET relay lifetime reply.
func (a *Assignments) matches(vals []any, lifetime uint64) bool {
	if len(vals) != 2 {
		return false
	}
	relay, ok1 := vals[0].(string)
	l, ok2 := vals[1].(string)
	if !ok1 || !ok2 || relay != a.b.cfg.RelayID {
		return false
	}
	n, err := strconv.ParseUint(l, 10, 64)
	return err == nil && n == lifetime && n >= 1
}
