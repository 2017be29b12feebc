-- undrain: the control plane forgets a drain mark (decisions/009): RELAY leaves
-- A draining and A drain_incarnations together.
-- KEYS[1] P .. 'relays'   ARGV P, relay[, expected]
-- EXPECTED (optional, '' = remove whatever is there): remove only if the mark is
-- still the one the caller judged, so a drain written meanwhile survives:
--   '=' .. boot_id   the drain is for that incarnation
--   '-'              no incarnation is recorded (a drain from before decisions/009)
-- Returns 1 if RELAY was in A draining, else 0.
local P, relay, expected = ARGV[1], ARGV[2], ARGV[3] or ''
if expected ~= '' then
  local boot = redis.call('HGET', K.drain_incarnations(P), relay)
  if expected == '-' then
    if boot then return 0 end
  elseif boot ~= string.sub(expected, 2) then
    return 0
  end
end
redis.call('HDEL', K.drain_incarnations(P), relay)
return redis.call('SREM', K.draining(P), relay)
