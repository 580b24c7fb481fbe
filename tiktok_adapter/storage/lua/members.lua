-- The fleet's heartbeat: this process says it is alive, and how it is, and reads everyone.
-- KEYS[1]: a sorted set, member -> Redis time of its last heartbeat; KEYS[2]: a hash,
-- member -> its state ("ok", or "out" while it counts alone after an outage).
-- ARGV: member, state, seconds after which a silent member is forgotten.
-- Returns {now, member, seen, state, member, seen, state, ...} on Redis's clock, which
-- every member shares whatever its own clock says.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local forget = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - forget)
for _, m in ipairs(gone) do redis.call('HDEL', KEYS[2], m) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - forget)
local ms = math.ceil(forget * 2000)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('PEXPIRE', KEYS[2], ms)
local reply = {string.format('%.6f', now)}
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  reply[#reply + 1] = all[i]
  reply[#reply + 1] = all[i + 1]
  reply[#reply + 1] = redis.call('HGET', KEYS[2], all[i]) or 'ok'
end
return reply
