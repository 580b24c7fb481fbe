-- ARGV[1] is now; an empty one means Redis's own clock, the same for every worker.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
