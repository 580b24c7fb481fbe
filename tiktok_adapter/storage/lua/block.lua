local span = tonumber(ARGV[2])
local untilv = now + span
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[3]))
if (not cur) or cur < untilv then
  redis.call('HSET', KEYS[1], ARGV[3], string.format('%.6f', untilv))
  local ms = ttl_ms(span)
  if redis.call('PTTL', KEYS[1]) < ms then redis.call('PEXPIRE', KEYS[1], ms) end
end
return 1
