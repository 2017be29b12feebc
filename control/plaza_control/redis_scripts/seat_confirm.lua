-- seat_confirm: the relay admitted USER to ROOM; its seat no longer expires.
-- KEYS[1] P .. 'relays'   ARGV P, room, user[, relay[, session[, lifetime]]]
-- RELAY (optional, '' = any): the relay that reported it; a room now assigned to
-- another relay is left alone (a late event of the room's previous relay).
-- SESSION (optional, '' = none): the relay's session id. A session that relay
-- already reported ended (seat_release's tombstone in A sessions_ended) is not confirmed: its
-- join event arrived after its leave (redelivered or claimed late). The session
-- is recorded as the seat's holder, so a late leave of an older session of the
-- same user does not free it.
-- LIFETIME (optional, '' or 0 = any, as from a relay older than decisions/009):
-- the room lifetime the event is about; a room now in another lifetime is left
-- alone (the event belongs to a room of that id that was closed since).
-- Returns 1 if the seat was confirmed, 0 if the room is unknown to allocation,
-- -1 if the room is on another relay, -2 if the session already ended, -3 if
-- the room is in another lifetime.
-- Idempotent: applying it again leaves the same state.
local P, room, user, from, session = ARGV[1], ARGV[2], ARGV[3], ARGV[4] or '', ARGV[5] or ''
local lifetime = tonumber(ARGV[6] or '0') or 0
if session ~= '' and session_has_ended(P, from, session) then return -2 end
local rk = K.room(P, room)
local relay, cur_lifetime = unpack(redis.call('HMGET', rk, 'relay', 'lifetime'))
if not relay then return 0 end
if from ~= '' and from ~= relay then return -1 end
if lifetime ~= 0 and tonumber(cur_lifetime or '0') ~= lifetime then return -3 end
local cur = redis.call('HGET', K.user_seats(P), user)
if cur and cur ~= room then drop_seat(P, cur, user) end
local added = redis.call('ZADD', K.room_seats(P, room), CONFIRMED, user)
if added == 1 then redis.call('HINCRBY', K.relay_seats(P), relay, 1) end
redis.call('HSET', K.user_seats(P), user, room)
if session ~= '' then redis.call('HSET', K.room_sessions(P, room), user, session) end
redis.call('ZADD', K.world_rooms(P, redis.call('HGET', rk, 'world')),
  redis.call('ZCARD', K.room_seats(P, room)), room)
redis.call('HDEL', rk, 'empty_since')
return 1
