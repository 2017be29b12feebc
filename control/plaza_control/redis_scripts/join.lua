-- join: place one user in a room of a world, assign the room to a live relay,
-- and reserve the user's seat -- one atomic step.
-- KEYS[1]  P .. 'relays' (routing anchor; every key used shares its {alloc} slot)
-- ARGV     P, now_ms, reservation_ms, world_id, room_capacity, user_id,
--          wanted_room ('' = any), new_room_id, scan_limit, empty_grace_ms,
--          n, then n triples (relay_id, capacity_connections, connections),
--          the placement candidates (live, ready, not draining, region-filtered).
-- Returns  {'OK', room, relay, heartbeat_bytes, seats, created(0/1), reused(0/1), lifetime}
--          or {'ROOM_FULL'} | {'NO_RELAY'} | {'WORLD_MISMATCH'}
-- A room's lifetime (decisions/009) is drawn from A room_lifetimes when its
-- allocation is created and kept while it lives, also when it moves to another
-- relay; room_release ends it. next_lifetime gives a number above every earlier
-- one of the room id (also once its field was forgotten, decisions/016), so a
-- lifetime number never repeats for a room id and a ticket of a closed lifetime
-- matches nothing.
local P = ARGV[1]
local now = tonumber(ARGV[2])
local reservation = tonumber(ARGV[3])
local world = ARGV[4]
local cap = tonumber(ARGV[5])
local user = ARGV[6]
local wanted = ARGV[7]
local new_room = ARGV[8]
local scan = tonumber(ARGV[9])
local grace = ARGV[10]
local n = tonumber(ARGV[11])

local function live(relay) return redis.call('EXISTS', K.relay_hb(P, relay)) == 1 end

-- Least-loaded live candidate with a free connection. Load counts the larger of
-- what the relay last reported and the seats reserved on it since.
local function pick_relay()
  local best, best_load = nil, nil
  for i = 0, n - 1 do
    local id = ARGV[12 + i * 3]
    local capacity = tonumber(ARGV[13 + i * 3])
    local conns = tonumber(ARGV[14 + i * 3])
    if capacity > 0 and live(id) and redis.call('SISMEMBER', K.draining(P), id) == 0 then
      local seats = tonumber(redis.call('HGET', K.relay_seats(P), id) or '0')
      local used = math.max(conns, seats)
      if used + 1 <= capacity then
        local load = used / capacity
        if best == nil or load < best_load then best, best_load = id, load end
      end
    end
  end
  return best
end

-- A room stays on its relay while that relay is live, unless the relay is
-- draining and nobody but this user still holds a seat there (moving a room with
-- members would split it); otherwise it moves to a candidate.
local function relay_for(room)
  local relay = redis.call('HGET', K.room(P, room), 'relay')
  if relay and live(relay) then
    if redis.call('SISMEMBER', K.draining(P), relay) == 0 then return relay, false end
    local others = purge(P, room, now)
    if redis.call('ZSCORE', K.room_seats(P, room), user) then others = others - 1 end
    if others > 0 then return relay, false end
  end
  local r = pick_relay()
  if r == nil then return nil, false end
  return r, true
end

local target, relay, move, created, reused = nil, nil, false, 0, 0

-- 1. The user's current seat: same world (and same room if one is wanted) is reused.
local cur = redis.call('HGET', K.user_seats(P), user)
if cur then
  local sc = redis.call('ZSCORE', K.room_seats(P, cur), user)
  local same = sc and tonumber(sc) > now
    and redis.call('HGET', K.room(P, cur), 'world') == world
    and (wanted == '' or wanted == cur)
  if same then
    relay, move = relay_for(cur)
    if relay then target, reused = cur, 1 end
  end
  if not target then drop_seat(P, cur, user) end
end

-- 2. A wanted room, else the fullest room with a free seat, else a new room.
if not target and wanted ~= '' then
  local w = redis.call('HGET', K.room(P, wanted), 'world')
  if w and w ~= world then return {'WORLD_MISMATCH'} end
  if w then
    if purge(P, wanted, now) >= cap then return {'ROOM_FULL'} end
    relay, move = relay_for(wanted)
  else
    relay, created = pick_relay(), 1
  end
  if not relay then return {'NO_RELAY'} end
  target = wanted
end
if not target then
  local rooms = redis.call('ZREVRANGEBYSCORE', K.world_rooms(P, world),
    '(' .. cap, '-inf', 'LIMIT', 0, scan)
  for _, room in ipairs(rooms) do
    if purge(P, room, now) < cap then
      relay, move = relay_for(room)
      if relay then target = room break end
    end
  end
  if not target then
    relay = pick_relay()
    if not relay then return {'NO_RELAY'} end
    target, created = new_room, 1
  end
end

-- 3. Assignment.
local rk = K.room(P, target)
local lifetime
if created == 1 then
  lifetime = next_lifetime(P, target)
  redis.call('HSET', rk, 'world', world, 'relay', relay, 'created_ms', now, 'grace_ms', grace,
    'lifetime', lifetime)
  redis.call('SADD', K.rooms(P), target)
  redis.call('SADD', K.relay_rooms(P, relay), target)
  redis.call('ZADD', K.world_rooms(P, world), 0, target)
elseif move then
  local old = redis.call('HGET', rk, 'relay')
  local count = redis.call('ZCARD', K.room_seats(P, target))
  if old and count > 0 then
    redis.call('HINCRBY', K.relay_seats(P), old, 0 - count)
  end
  if old then
    redis.call('SREM', K.relay_rooms(P, old), target)
  end
  if count > 0 then redis.call('HINCRBY', K.relay_seats(P), relay, count) end
  redis.call('SADD', K.relay_rooms(P, relay), target)
  redis.call('HSET', rk, 'relay', relay)
  -- Members confirmed by the old relay must come back through join: their seats
  -- become reservations, confirmed again by the new relay or left to expire.
  local held = redis.call('ZRANGEBYSCORE', K.room_seats(P, target), CONFIRMED, CONFIRMED)
  for _, u in ipairs(held) do
    redis.call('ZADD', K.room_seats(P, target), 'XX', now + reservation, u)
  end
end

-- An allocation written before lifetimes existed gets one at its next join.
if not lifetime then
  lifetime = tonumber(redis.call('HGET', rk, 'lifetime') or '0')
  if lifetime == 0 then
    lifetime = next_lifetime(P, target)
    redis.call('HSET', rk, 'lifetime', lifetime)
  end
end

-- 4. The seat: a reservation that expires unless the relay confirms it.
local sk = K.room_seats(P, target)
if reused == 1 then
  redis.call('ZADD', sk, 'GT', now + reservation, user)
else
  redis.call('ZADD', sk, now + reservation, user)
  redis.call('HINCRBY', K.relay_seats(P), relay, 1)
  redis.call('HSET', K.user_seats(P), user, target)
end
local seats = redis.call('ZCARD', sk)
redis.call('ZADD', K.world_rooms(P, world), seats, target)
redis.call('HDEL', rk, 'empty_since')
return {'OK', target, relay, redis.call('GET', K.relay_hb(P, relay)), seats, created, reused,
  lifetime}
