local cur = redis.call('HGET', KEYS[1], ARGV[1])
local f = 1.0
if cur then f = tonumber(string.match(cur, '^(%S+)')) or 1.0 end
if math.abs(f - tonumber(ARGV[3])) > 1e-9 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
