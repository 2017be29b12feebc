-- seat_release: USER left ROOM (or its reservation is cancelled).
-- KEYS[1] P .. 'relays'   ARGV P, room, user, now_ms
-- Returns 1 if a seat was freed.
local P, room, user, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local removed = drop_seat(P, room, user)
if redis.call('ZCARD', seats_key(P, room)) == 0 and redis.call('EXISTS', room_key(P, room)) == 1 then
  redis.call('HSETNX', room_key(P, room), 'empty_since', now)
end
return removed
