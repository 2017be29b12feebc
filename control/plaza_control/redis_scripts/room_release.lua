-- room_release: forget ROOM (closed by an operator, or closed by its relay); this
-- ends the room's lifetime (decisions/009).
-- KEYS[1] P .. 'relays'   ARGV P, room[, relay[, lifetime]]
-- RELAY (optional, '' = any): release only if the room is still on that relay
-- (a relay's RoomClosedEvent must not release a room that moved elsewhere).
-- LIFETIME (optional, '' or 0 = any): release only if the room is still in that
-- lifetime (a late RoomClosedEvent must not release the next room of that id).
-- Returns the relay the room was on ('' if it was unknown or not released).
local P, room, from, lifetime = ARGV[1], ARGV[2], ARGV[3] or '', tonumber(ARGV[4] or '0') or 0
if from ~= '' or lifetime ~= 0 then
  local relay, cur = unpack(redis.call('HMGET', K.room(P, room), 'relay', 'lifetime'))
  if from ~= '' and relay ~= from then return '' end
  if lifetime ~= 0 and tonumber(cur or '0') ~= lifetime then return '' end
end
return release_room(P, room)
