-- Shared helpers, prepended to every allocation script by plaza_control.redis_scripts.
-- P is the allocation key prefix, e.g. "plaza:{alloc}:" (docs/redis.md). Every key
-- below starts with P, so all of them share the {alloc} hash slot.
local CONFIRMED = 9007199254740991
-- Note: never pass a negated zero (-0) to HINCRBY; Lua renders it "-0", which
-- Redis refuses as "not an integer". Counts are guarded or written as 0 - n.

local function room_key(P, room) return P .. 'room:' .. room end
local function seats_key(P, room) return P .. 'room:' .. room .. ':seats' end
-- Hash user -> relay session id of the session that confirmed the user's seat.
local function sessions_key(P, room) return P .. 'room:' .. room .. ':sessions' end
-- Present (with a TTL) once RELAY reported its session SESSION ended.
local function ended_key(P, relay, session) return P .. 'ended:' .. relay .. ':' .. session end

-- Drop the room's expired reservations, keep every counter exact, refresh the
-- world's occupancy index and the room's empty_since mark. Returns the seat count.
local function purge(P, room, now)
  local rk = room_key(P, room)
  local sk = seats_key(P, room)
  local expired = redis.call('ZRANGEBYSCORE', sk, '-inf', now)
  local relay = redis.call('HGET', rk, 'relay')
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
    for _, u in ipairs(expired) do
      redis.call('HDEL', sessions_key(P, room), u)
      if redis.call('HGET', P .. 'user_seats', u) == room then
        redis.call('HDEL', P .. 'user_seats', u)
      end
    end
    if relay then redis.call('HINCRBY', P .. 'relay_seats', relay, 0 - #expired) end
  end
  local count = redis.call('ZCARD', sk)
  local world = redis.call('HGET', rk, 'world')
  if world then redis.call('ZADD', P .. 'world:' .. world .. ':rooms', count, room) end
  if count == 0 then
    if world and not redis.call('HGET', rk, 'empty_since') then
      redis.call('HSET', rk, 'empty_since', now)
    end
  else
    redis.call('HDEL', rk, 'empty_since')
  end
  return count
end

-- Remove one user's seat from a room (no-op when absent). Returns 1 if removed.
local function drop_seat(P, room, user)
  local removed = redis.call('ZREM', seats_key(P, room), user)
  redis.call('HDEL', sessions_key(P, room), user)
  if removed == 1 then
    local rk = room_key(P, room)
    local relay = redis.call('HGET', rk, 'relay')
    if relay then redis.call('HINCRBY', P .. 'relay_seats', relay, -1) end
    local world = redis.call('HGET', rk, 'world')
    if world then
      redis.call('ZADD', P .. 'world:' .. world .. ':rooms', redis.call('ZCARD', seats_key(P, room)), room)
    end
  end
  if redis.call('HGET', P .. 'user_seats', user) == room then
    redis.call('HDEL', P .. 'user_seats', user)
  end
  return removed
end

-- Forget a room entirely: seats, counters, indexes.
local function release_room(P, room)
  local rk = room_key(P, room)
  local sk = seats_key(P, room)
  local relay = redis.call('HGET', rk, 'relay')
  local world = redis.call('HGET', rk, 'world')
  local users = redis.call('ZRANGE', sk, 0, -1)
  for _, u in ipairs(users) do
    if redis.call('HGET', P .. 'user_seats', u) == room then redis.call('HDEL', P .. 'user_seats', u) end
  end
  if relay then
    if #users > 0 then redis.call('HINCRBY', P .. 'relay_seats', relay, 0 - #users) end
    redis.call('SREM', P .. 'relay:' .. relay .. ':rooms', room)
  end
  if world then redis.call('ZREM', P .. 'world:' .. world .. ':rooms', room) end
  redis.call('SREM', P .. 'rooms', room)
  redis.call('DEL', rk, sk, sessions_key(P, room))
  return relay or ''
end
