-- room_release: forget ROOM (closed by an operator, or closed by its relay).
-- KEYS[1] P .. 'relays'   ARGV P, room
-- Returns the relay the room was on ('' if it was unknown).
return release_room(ARGV[1], ARGV[2])
