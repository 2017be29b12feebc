-- seat_release: USER left ROOM (or its reservation is cancelled).
-- KEYS[1] P .. 'relays'   ARGV P, room, user, now_ms[, relay]
-- RELAY (optional, '' = any): the relay that reported it; a room now assigned to
-- another relay is left alone (a late event of the room's previous relay).
-- Returns 1 if a seat was freed.
local P, room, user, now, from = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] or ''
if from ~= '' then
  local relay = redis.call('HGET', room_key(P, room), 'relay')
  if relay and relay ~= from then return 0 end
end
local removed = drop_seat(P, room, user)
if redis.call('ZCARD', seats_key(P, room)) == 0 and redis.call('EXISTS', room_key(P, room)) == 1 then
  redis.call('HSETNX', room_key(P, room), 'empty_since', now)
end
return removed
