-- ARGV[1] is now; an empty one means Redis's own clock, the same for every worker.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
-- Milliseconds a key must live to keep what it holds for the next `seconds`, and a minute
-- more: Redis expires keys on its host's wall clock, and a forward step of that clock (a VM
-- resumed, NTP stepping it) would otherwise end windows and blocks early, fleet-wide. What
-- a key holds says itself what still counts (its entries' stamps, the period its count is
-- for, a block's end), so one kept longer counts nothing twice; it only stays in memory a
-- minute more once idle.
local function ttl_ms(seconds) return math.ceil(seconds * 1000) + 60000 end
