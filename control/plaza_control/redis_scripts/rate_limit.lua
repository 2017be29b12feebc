-- rate_limit: fixed-window counter. Standalone (no allocation helpers).
-- KEYS[1] the counter key (docs/redis.md: rl:{scope:id})   ARGV limit, window_ms
-- Returns {allowed(0/1), ms until the window resets}
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if n > tonumber(ARGV[1]) then return {0, ttl} end
return {1, ttl}
