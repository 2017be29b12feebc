-- Shared helpers, prepended to every allocation script by plaza_control.redis_scripts.
-- P is the allocation key prefix, e.g. "plaza:{alloc}:" (docs/redis.md). Every key
-- below starts with P, so all of them share the {alloc} hash slot.
local CONFIRMED = 9007199254740991
-- Note: never pass a negated zero (-0) to HINCRBY; Lua renders it "-0", which
-- Redis refuses as "not an integer". Counts are guarded or written as 0 - n.

-- Key builders: one per allocation entry of schemas/keyspace.json, named after
-- it, with the entry's placeholders as parameters in order. No script builds a
-- key name any other way; tests/test_keyspace.py runs every builder on Redis and
-- compares it with the declaration (docs/redis.md says what each key holds).
local K = {}
function K.relays(P) return P .. 'relays' end
function K.relay_hb(P, relay_id) return P .. 'relay:' .. relay_id .. ':hb' end
function K.relay_rooms(P, relay_id) return P .. 'relay:' .. relay_id .. ':rooms' end
function K.relay_seats(P) return P .. 'relay_seats' end
function K.draining(P) return P .. 'draining' end
function K.rooms(P) return P .. 'rooms' end
function K.room(P, room_id) return P .. 'room:' .. room_id end
function K.room_seats(P, room_id) return P .. 'room:' .. room_id .. ':seats' end
function K.world_rooms(P, world_id) return P .. 'world:' .. world_id .. ':rooms' end
function K.user_seats(P) return P .. 'user_seats' end
-- Hash user -> relay session id of the session that confirmed the user's seat.
function K.room_sessions(P, room_id) return P .. 'room:' .. room_id .. ':sessions' end
-- Sorted set: member '<relay_id>:<session_id>' of every session whose leave was
-- applied, score = Redis time (ms) of that; trimmed (docs/decisions/012).
function K.sessions_ended(P) return P .. 'sessions_ended' end
-- Written only by versions before decisions/012 (a string per ended session, 600 s
-- TTL); still read so a leave applied just before an upgrade stays a tombstone.
function K.session_ended(P, relay_id, session_id) return P .. 'ended:' .. relay_id .. ':' .. session_id end
-- Hash room id -> the last lifetime given to that room id, and field ':floor'
-- (never a room id: ids contain no ':') >= every value of a field forgotten
-- since (docs/decisions/016). Fields go only with lifetimes_forget.lua.
function K.room_lifetimes(P) return P .. 'room_lifetimes' end
-- Hash relay id -> boot id of the incarnation a drain is for (next to A draining).
function K.drain_incarnations(P) return P .. 'drain_incarnations' end

-- Field of A room_lifetimes holding the largest lifetime of any room id whose
-- own field was forgotten (docs/decisions/016).
local LIFETIME_FLOOR = ':floor'

-- The next lifetime of ROOM, recorded as its field of A room_lifetimes: above
-- the room id's last one and above the floor of forgotten ones, so a lifetime
-- number never repeats for a room id even after its field was forgotten.
local function next_lifetime(P, room)
  local h = K.room_lifetimes(P)
  local last, floor = unpack(redis.call('HMGET', h, room, LIFETIME_FLOOR))
  local n = math.max(tonumber(last or '0'), tonumber(floor or '0')) + 1
  redis.call('HSET', h, room, n)
  return n
end

-- The Redis server's clock in ms: the clock of the events stream's entry ids, so
-- tombstone scores compare with them (docs/decisions/012).
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Whether the relay already reported SESSION of RELAY ended (a tombstone).
local function session_has_ended(P, relay, session)
  if redis.call('ZSCORE', K.sessions_ended(P), relay .. ':' .. session) then return true end
  return redis.call('EXISTS', K.session_ended(P, relay, session)) == 1
end

-- Drop the room's expired reservations, keep every counter exact, refresh the
-- world's occupancy index and the room's empty_since mark. Returns the seat count.
local function purge(P, room, now)
  local rk = K.room(P, room)
  local sk = K.room_seats(P, room)
  local expired = redis.call('ZRANGEBYSCORE', sk, '-inf', now)
  local relay = redis.call('HGET', rk, 'relay')
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', sk, '-inf', now)
    for _, u in ipairs(expired) do
      redis.call('HDEL', K.room_sessions(P, room), u)
      if redis.call('HGET', K.user_seats(P), u) == room then
        redis.call('HDEL', K.user_seats(P), u)
      end
    end
    if relay then redis.call('HINCRBY', K.relay_seats(P), relay, 0 - #expired) end
  end
  local count = redis.call('ZCARD', sk)
  local world = redis.call('HGET', rk, 'world')
  if world then redis.call('ZADD', K.world_rooms(P, world), count, room) end
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
  local removed = redis.call('ZREM', K.room_seats(P, room), user)
  redis.call('HDEL', K.room_sessions(P, room), user)
  if removed == 1 then
    local rk = K.room(P, room)
    local relay = redis.call('HGET', rk, 'relay')
    if relay then redis.call('HINCRBY', K.relay_seats(P), relay, -1) end
    local world = redis.call('HGET', rk, 'world')
    if world then
      redis.call('ZADD', K.world_rooms(P, world), redis.call('ZCARD', K.room_seats(P, room)), room)
    end
  end
  if redis.call('HGET', K.user_seats(P), user) == room then
    redis.call('HDEL', K.user_seats(P), user)
  end
  return removed
end

-- Forget a room entirely: seats, counters, indexes.
local function release_room(P, room)
  local rk = K.room(P, room)
  local sk = K.room_seats(P, room)
  local relay = redis.call('HGET', rk, 'relay')
  local world = redis.call('HGET', rk, 'world')
  local users = redis.call('ZRANGE', sk, 0, -1)
  for _, u in ipairs(users) do
    if redis.call('HGET', K.user_seats(P), u) == room then redis.call('HDEL', K.user_seats(P), u) end
  end
  if relay then
    if #users > 0 then redis.call('HINCRBY', K.relay_seats(P), relay, 0 - #users) end
    redis.call('SREM', K.relay_rooms(P, relay), room)
  end
  if world then redis.call('ZREM', K.world_rooms(P, world), room) end
  redis.call('SREM', K.rooms(P), room)
  redis.call('DEL', rk, sk, K.room_sessions(P, room))
  return relay or ''
end
