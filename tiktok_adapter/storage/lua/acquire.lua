-- ARGV[3]: the calendar time, for calendar windows (@utc): the caller's wall clock, which
-- the API's calendar follows, not Redis's (whose clock may be off); empty means now.
local share = tonumber(ARGV[2])
local cal = tonumber(ARGV[3]) or now
local margin = tonumber(ARGV[4])
local nh = tonumber(ARGV[5])
local a, nb = 6, 0
local wait, binding = 0, 0
for i = 1, nh do
  local nf = tonumber(ARGV[a])
  local held = redis.call('HMGET', KEYS[i], unpack(ARGV, a + 1, a + nf))
  for j = 1, nf do
    local untilv = tonumber(held[j])
    if untilv and untilv - now > wait then wait = untilv - now; binding = nb + j end
  end
  nb = nb + nf
  a = a + nf + 1
end
local first = a
local counts, buckets = {}, {}
for i = nh + 1, #KEYS do
  local amount, period = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local cap = amount
  if share < 1 then cap = math.max(1, math.floor(amount * share)) end
  if string.sub(ARGV[a + 2], 1, 1) == '1' then
    -- "1:<cost>" charges a calendar window <cost> at once (reserved records)
    local cost = math.min(tonumber(string.sub(ARGV[a + 2], 3)) or 1, cap)
    local bucket, count = calendar_current(KEYS[i], cal, period)
    counts[i], buckets[i] = count + cost, bucket
    if count + cost > cap then
      local w = (bucket + 1) * period + margin - cal
      if w > wait then wait = w; binding = nb + i - nh end
    end
  else
    local entry = tonumber(redis.call('LINDEX', KEYS[i], cap - 1))
    if entry then
      local w = entry + period + margin - now
      if w > wait then wait = w; binding = nb + i - nh end
    end
  end
  a = a + 3
end
if wait > 0 then return string.format('%.6f %d', wait, binding) end
local stamp = string.format('%.6f', now)
-- Admitted: the reply gives the stamp of this request's entries (so that a late answer
-- moves exactly them, however long the command took to get here), then what the fleet
-- holds in each window now, this request included, for the fallback to start from
-- should the store stop answering.
local reply = {0, stamp}
a = first
for i = nh + 1, #KEYS do
  local amount, period = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  if string.sub(ARGV[a + 2], 1, 1) == '1' then
    local bucket = buckets[i]
    local ttl = ttl_ms((bucket + 1) * period + margin - cal)
    redis.call('SET', KEYS[i], string.format('%d:%d', bucket, counts[i]), 'PX', ttl)
    reply[#reply + 1] = counts[i]
  else
    -- One entry in, one out: RPOP costs less than LTRIM, which is for a lowered amount.
    local n = redis.call('LPUSH', KEYS[i], stamp)
    if n == amount + 1 then redis.call('RPOP', KEYS[i])
    elseif n > amount then redis.call('LTRIM', KEYS[i], 0, amount - 1) end
    redis.call('PEXPIRE', KEYS[i], ttl_ms(period + margin))
    -- newest first: the first entry out of the window, by bisection
    local cutoff, lo, hi = now - period - margin, 1, math.min(n, amount)
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if tonumber(redis.call('LINDEX', KEYS[i], mid)) > cutoff then lo = mid + 1 else hi = mid end
    end
    reply[#reply + 1] = lo
  end
  a = a + 3
end
return reply
