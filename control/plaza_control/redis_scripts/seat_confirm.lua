-- seat_confirm: the relay admitted USER to ROOM; its seat no longer expires.
-- KEYS[1] P .. 'relays'   ARGV P, room, user[, relay]
-- RELAY (optional, '' = any): the relay that reported it; a room now assigned to
-- another relay is left alone (a late event of the room's previous relay).
-- Returns 1 if the seat was confirmed, 0 if the room is unknown to allocation,
-- -1 if the room is on another relay.
local P, room, user, from = ARGV[1], ARGV[2], ARGV[3], ARGV[4] or ''
local rk = room_key(P, room)
local relay = redis.call('HGET', rk, 'relay')
if not relay then return 0 end
if from ~= '' and from ~= relay then return -1 end
local cur = redis.call('HGET', P .. 'user_seats', user)
if cur and cur ~= room then drop_seat(P, cur, user) end
local added = redis.call('ZADD', seats_key(P, room), CONFIRMED, user)
if added == 1 then redis.call('HINCRBY', P .. 'relay_seats', relay, 1) end
redis.call('HSET', P .. 'user_seats', user, room)
redis.call('ZADD', P .. 'world:' .. redis.call('HGET', rk, 'world') .. ':rooms',
  redis.call('ZCARD', seats_key(P, room)), room)
redis.call('HDEL', rk, 'empty_since')
return 1
