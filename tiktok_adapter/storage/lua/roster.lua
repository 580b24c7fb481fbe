-- The fleet's roster, as members.lua and fleet.lua reply: {now, member, seen, state, ...}
-- on Redis's clock. KEYS[1]: a sorted set, member -> Redis time of its last heartbeat;
-- KEYS[2]: a hash, member -> its state ("ok", or "out" while it counts alone).
local function roster(now)
  local reply = {string.format('%.6f', now)}
  local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    reply[#reply + 1] = all[i]
    reply[#reply + 1] = all[i + 1]
    reply[#reply + 1] = redis.call('HGET', KEYS[2], all[i]) or 'ok'
  end
  return reply
end
local t = redis.call('TIME')
local redis_now = tonumber(t[1]) + tonumber(t[2]) / 1000000
