-- ARGV[3]: the stamp the admission script gave the entries, when the caller has it;
-- else they are looked for ARGV[2] seconds before now.
local stamp = tonumber(ARGV[3]) or (now - tonumber(ARGV[2]))
local shift, margin, reach = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 1, #KEYS do
  local entries = redis.call('LRANGE', KEYS[i], 0, -1)
  local best, distance = nil, reach
  for j, e in ipairs(entries) do
    local gap = math.abs(tonumber(e) - stamp)
    if gap <= distance then best, distance = j, gap end
  end
  if best then
    local moved = tonumber(entries[best]) + shift
    redis.call('LREM', KEYS[i], 1, entries[best])
    -- newest first: before the first other entry no newer than the moved one
    local pivot = nil
    for j, e in ipairs(entries) do
      if j ~= best and tonumber(e) <= moved then pivot = e; break end
    end
    local text = string.format('%.6f', moved)
    if pivot then redis.call('LINSERT', KEYS[i], 'BEFORE', pivot, text)
    else redis.call('RPUSH', KEYS[i], text) end
    local ms = ttl_ms(moved + tonumber(ARGV[6 + i]) + margin - now)
    if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end
  end
end
return 0
