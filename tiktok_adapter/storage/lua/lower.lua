local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local f = tonumber(string.match(cur, '^(%S+)'))
  if f and f <= tonumber(ARGV[3]) then return cur end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return ARGV[2]
