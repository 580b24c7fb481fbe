local amount, period, margin = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[5] == '1' then
  -- ARGV[6]: the calendar time (see acquire.lua)
  local cal = tonumber(ARGV[6]) or now
  local bucket, count = calendar_current(KEYS[1], cal, period)
  return {count, string.format('%.6f', (bucket + 1) * period - cal)}
end
local entries = redis.call('LRANGE', KEYS[1], 0, amount - 1)
local used, oldest = 0, nil
for _, e in ipairs(entries) do
  local t = tonumber(e)
  if t and t > now - period - margin then used = used + 1; oldest = t end
end
if oldest then return {used, string.format('%.6f', oldest + period + margin - now)} end
return {0, '0'}
