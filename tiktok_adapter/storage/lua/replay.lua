-- After an outage: what this process admitted while it counted alone goes into the
-- shared windows, so that the fleet counts it too. KEYS: the windows. ARGV: now, margin,
-- the calendar time (the caller's wall clock, which calendar windows follow, as in
-- acquire.lua); then per window its amount, period, 1 for a calendar window or 0, this
-- process's count in a calendar window's current period, how many stamps follow, how many
-- of them (the newest) were admitted during the outage, and the stamps (oldest first; on the
-- store's clock, or the wall clock for a calendar window). A window that Redis lost (a
-- restarted server, a promoted replica) gets all this process still holds in it; one Redis
-- kept gets the outage's only (a calendar window: those of its current period, unless the
-- fleet has begun a later one).
local margin = tonumber(ARGV[2])
local cal = tonumber(ARGV[3]) or now
local a = 4
for i = 1, #KEYS do
  local amount, period, calendar = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), ARGV[a + 2]
  local mine, n, out = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  local first, last = a + 6, a + 5 + n
  if calendar == '1' then
    local bucket = math.floor(cal / period)
    local count, add = 0, 0
    local hb, hc = calendar_held(KEYS[i])
    if hb then
      if hb > bucket then bucket = -1 end -- the fleet is in a later period
      if hb == bucket then count = tonumber(hc) end
      for j = last - out + 1, last do
        if math.floor(tonumber(ARGV[j]) / period) == bucket then add = add + 1 end
      end
    else
      add = mine
    end
    if add > 0 then
      local ttl = ttl_ms((bucket + 1) * period + margin - cal)
      redis.call('SET', KEYS[i], string.format('%d:%d', bucket, count + add), 'PX', ttl)
    end
  elseif n > 0 then
    if redis.call('EXISTS', KEYS[i]) == 1 then first = last - out + 1 end
    local pushed = 0
    for j = first, last do
      local stamp = tonumber(ARGV[j])
      if stamp > now - period - margin then
        redis.call('LPUSH', KEYS[i], string.format('%.6f', stamp))
        pushed = pushed + 1
      end
    end
    if pushed > 0 then
      -- newest first again, then no more than the window can hold
      redis.call('SORT', KEYS[i], 'DESC', 'STORE', KEYS[i])
      redis.call('LTRIM', KEYS[i], 0, amount - 1)
      local newest = tonumber(redis.call('LINDEX', KEYS[i], 0))
      local ms = ttl_ms(newest + period + margin - now)
      if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end
    end
  end
  a = a + 6 + n
end
return 0
