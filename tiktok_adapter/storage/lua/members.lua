-- The fleet's heartbeat: this process says it is alive, and how it is, and reads everyone
-- (roster.lua), on Redis's clock, which every member shares whatever its own clock says.
-- ARGV: member, state, seconds after which a silent member is forgotten.
local forget = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], redis_now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', redis_now - forget)
for _, m in ipairs(gone) do redis.call('HDEL', KEYS[2], m) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', redis_now - forget)
local ms = math.ceil(forget * 2000)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('PEXPIRE', KEYS[2], ms)
return roster(redis_now)
