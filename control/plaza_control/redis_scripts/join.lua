-- join: place one user in a room of a world, assign the room to a live relay,
-- and reserve the user's seat -- one atomic step.
-- KEYS[1]  P .. 'relays' (routing anchor; every key used shares its {alloc} slot)
-- ARGV     P, now_ms, reservation_ms, world_id, room_capacity, user_id,
--          wanted_room ('' = any), new_room_id, scan_limit, empty_grace_ms,
--          n, then n triples (relay_id, capacity_connections, connections),
--          the placement candidates (live, ready, not draining, region-filtered).
-- Returns  {'OK', room, relay, heartbeat_bytes, seats, created(0/1), reused(0/1)}
--          or {'ROOM_FULL'} | {'NO_RELAY'} | {'WORLD_MISMATCH'}
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

local function hb_key(relay) return P .. 'relay:' .. relay .. ':hb' end
local function live(relay) return redis.call('EXISTS', hb_key(relay)) == 1 end

-- Least-loaded live candidate with a free connection. Load counts the larger of
-- what the relay last reported and the seats reserved on it since.
local function pick_relay()
  local best, best_load = nil, nil
  for i = 0, n - 1 do
    local id = ARGV[12 + i * 3]
    local capacity = tonumber(ARGV[13 + i * 3])
    local conns = tonumber(ARGV[14 + i * 3])
    if capacity > 0 and live(id) and redis.call('SISMEMBER', P .. 'draining', id) == 0 then
      local seats = tonumber(redis.call('HGET', P .. 'relay_seats', id) or '0')
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
  local relay = redis.call('HGET', room_key(P, room), 'relay')
  if relay and live(relay) then
    if redis.call('SISMEMBER', P .. 'draining', relay) == 0 then return relay, false end
    local others = purge(P, room, now)
    if redis.call('ZSCORE', seats_key(P, room), user) then others = others - 1 end
    if others > 0 then return relay, false end
  end
  local r = pick_relay()
  if r == nil then return nil, false end
  return r, true
end

local target, relay, move, created, reused = nil, nil, false, 0, 0

-- 1. The user's current seat: same world (and same room if one is wanted) is reused.
local cur = redis.call('HGET', P .. 'user_seats', user)
if cur then
  local sc = redis.call('ZSCORE', seats_key(P, cur), user)
  local same = sc and tonumber(sc) > now
    and redis.call('HGET', room_key(P, cur), 'world') == world
    and (wanted == '' or wanted == cur)
  if same then
    relay, move = relay_for(cur)
    if relay then target, reused = cur, 1 end
  end
  if not target then drop_seat(P, cur, user) end
end

-- 2. A wanted room, else the fullest room with a free seat, else a new room.
if not target and wanted ~= '' then
  local w = redis.call('HGET', room_key(P, wanted), 'world')
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
  local rooms = redis.call('ZREVRANGEBYSCORE', P .. 'world:' .. world .. ':rooms',
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
local rk = room_key(P, target)
if created == 1 then
  redis.call('HSET', rk, 'world', world, 'relay', relay, 'created_ms', now, 'grace_ms', grace)
  redis.call('SADD', P .. 'rooms', target)
  redis.call('SADD', P .. 'relay:' .. relay .. ':rooms', target)
  redis.call('ZADD', P .. 'world:' .. world .. ':rooms', 0, target)
elseif move then
  local old = redis.call('HGET', rk, 'relay')
  local count = redis.call('ZCARD', seats_key(P, target))
  if old and count > 0 then
    redis.call('HINCRBY', P .. 'relay_seats', old, 0 - count)
  end
  if old then
    redis.call('SREM', P .. 'relay:' .. old .. ':rooms', target)
  end
  if count > 0 then redis.call('HINCRBY', P .. 'relay_seats', relay, count) end
  redis.call('SADD', P .. 'relay:' .. relay .. ':rooms', target)
  redis.call('HSET', rk, 'relay', relay)
  -- Members confirmed by the old relay must come back through join: their seats
  -- become reservations, confirmed again by the new relay or left to expire.
  local held = redis.call('ZRANGEBYSCORE', seats_key(P, target), CONFIRMED, CONFIRMED)
  for _, u in ipairs(held) do
    redis.call('ZADD', seats_key(P, target), 'XX', now + reservation, u)
  end
end

-- 4. The seat: a reservation that expires unless the relay confirms it.
local sk = seats_key(P, target)
if reused == 1 then
  redis.call('ZADD', sk, 'GT', now + reservation, user)
else
  redis.call('ZADD', sk, now + reservation, user)
  redis.call('HINCRBY', P .. 'relay_seats', relay, 1)
  redis.call('HSET', P .. 'user_seats', user, target)
end
local seats = redis.call('ZCARD', sk)
redis.call('ZADD', P .. 'world:' .. world .. ':rooms', seats, target)
redis.call('HDEL', rk, 'empty_since')
return {'OK', target, relay, redis.call('GET', hb_key(relay)), seats, created, reused}
