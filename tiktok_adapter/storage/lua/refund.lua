local hb, hc = calendar_held(KEYS[1])
if not hb or hb ~= tonumber(ARGV[1]) then return 0 end
local left = math.max(hc - tonumber(ARGV[2]), 0)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('SET', KEYS[1], string.format('%d:%d', hb, left), 'PX', ttl)
else
  redis.call('SET', KEYS[1], string.format('%d:%d', hb, left))
end
return 1
