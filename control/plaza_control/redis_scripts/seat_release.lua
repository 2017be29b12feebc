-- seat_release: USER left ROOM (or its reservation is cancelled).
-- KEYS[1] P .. 'relays'   ARGV P, room, user, now_ms[, relay[, session, ended_ttl_ms[, lifetime]]]
-- RELAY (optional, '' = any): the relay that reported it; a room now assigned to
-- another relay is left alone (a late event of the room's previous relay).
-- SESSION (optional, '' = none): the relay's session id that ended. With
-- ENDED_TTL_MS > 0 a tombstone (relay, session) is kept in A sessions_ended, at
-- most that long, so a late seat_confirm of this session changes nothing. A seat held by another (newer)
-- session of the user is left alone, and so is everything when the tombstone was
-- already there (this leave was applied before: a redelivery must not free a
-- seat the user took again since).
-- LIFETIME (optional, '' or 0 = any): the room lifetime the leave is about; a
-- room now in another lifetime is left alone (the tombstone is still kept).
-- Returns 1 if a seat was freed. Idempotent.
local P, room, user, now, from = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] or ''
local session, ttl = ARGV[6] or '', tonumber(ARGV[7] or '0')
local lifetime = tonumber(ARGV[8] or '0') or 0
if session ~= '' and ttl > 0 then
  -- Tombstones live at most ENDED_TTL_MS (this trim) and are dropped sooner by
  -- the seats consumer once no event they guard can be delivered again.
  local ended, t = K.sessions_ended(P), redis_now_ms()
  redis.call('ZREMRANGEBYSCORE', ended, '-inf', '(' .. (t - ttl))
  if session_has_ended(P, from, session) then return 0 end
  redis.call('ZADD', ended, t, from .. ':' .. session)
end
if from ~= '' or lifetime ~= 0 then
  local relay, cur = unpack(redis.call('HMGET', K.room(P, room), 'relay', 'lifetime'))
  if from ~= '' and relay and relay ~= from then return 0 end
  if lifetime ~= 0 and relay and tonumber(cur or '0') ~= lifetime then return 0 end
end
if session ~= '' then
  local holder = redis.call('HGET', K.room_sessions(P, room), user)
  if holder and holder ~= session then return 0 end
end
local removed = drop_seat(P, room, user)
if redis.call('ZCARD', K.room_seats(P, room)) == 0 and redis.call('EXISTS', K.room(P, room)) == 1 then
  redis.call('HSETNX', K.room(P, room), 'empty_since', now)
end
return removed
