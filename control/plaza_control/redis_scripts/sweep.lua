-- sweep: purge expired reservations of a batch of rooms and release rooms that
-- stayed empty longer than their grace. Run by every control plane process
-- every few seconds (idempotent, so concurrent sweeps are harmless).
-- KEYS[1] P .. 'relays'   ARGV P, now_ms, room ids...
-- Returns the ids of the rooms released (their lifetimes ended).
local P, now = ARGV[1], tonumber(ARGV[2])
local released = {}
for i = 3, #ARGV do
  local room = ARGV[i]
  local rk = K.room(P, room)
  if redis.call('EXISTS', rk) == 0 then
    redis.call('SREM', K.rooms(P), room)
  elseif purge(P, room, now) == 0 then
    local since = tonumber(redis.call('HGET', rk, 'empty_since') or now)
    local grace = tonumber(redis.call('HGET', rk, 'grace_ms') or '0')
    if now - since >= grace then
      release_room(P, room)
      released[#released + 1] = room
    end
  end
end
return released
