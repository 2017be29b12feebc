-- room_release: forget ROOM (closed by an operator, or closed by its relay).
-- KEYS[1] P .. 'relays'   ARGV P, room[, relay]
-- RELAY (optional, '' = any): release only if the room is still on that relay
-- (a relay's RoomClosedEvent must not release a room that moved elsewhere).
-- Returns the relay the room was on ('' if it was unknown or not released).
local P, room, from = ARGV[1], ARGV[2], ARGV[3] or ''
if from ~= '' then
  local relay = redis.call('HGET', K.room(P, room), 'relay')
  if relay ~= from then return '' end
end
return release_room(P, room)
