-- lifetimes_forget: drop fields of A room_lifetimes whose room id has no
-- allocation, folding each value into the ':floor' field first, so that
-- next_lifetime still gives that room id a number above every earlier one
-- (docs/decisions/016). Run by the control plane's maintenance
-- (plaza_control/events/lifetimes.py) for room ids it saw unallocated, with
-- no snapshot, on two passes in a row.
-- KEYS[1] P .. 'relays'   ARGV P, then pairs (room_id, lifetime seen)
-- A pair is skipped when the room has an allocation now or its field no
-- longer holds the value seen (a lifetime began since).
-- Returns the number of fields dropped.
local P = ARGV[1]
local h = K.room_lifetimes(P)
local floor = tonumber(redis.call('HGET', h, LIFETIME_FLOOR) or '0')
local dropped = 0
for i = 2, #ARGV - 1, 2 do
  local room, seen = ARGV[i], ARGV[i + 1]
  if room ~= LIFETIME_FLOOR and redis.call('EXISTS', K.room(P, room)) == 0
      and redis.call('HGET', h, room) == seen then
    floor = math.max(floor, tonumber(seen))
    redis.call('HSET', h, LIFETIME_FLOOR, floor)
    redis.call('HDEL', h, room)
    dropped = dropped + 1
  end
end
return dropped
