-- The fleet as the heartbeat sees it, read without joining it (`tiktok-adapter status`):
-- members.lua's reply, without its writes. KEYS as in members.lua.
-- Returns {now, member, seen, state, member, seen, state, ...} on Redis's clock.
local t = redis.call('TIME')
local reply = {string.format('%.6f', tonumber(t[1]) + tonumber(t[2]) / 1000000)}
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  reply[#reply + 1] = all[i]
  reply[#reply + 1] = all[i + 1]
  reply[#reply + 1] = redis.call('HGET', KEYS[2], all[i]) or 'ok'
end
return reply
