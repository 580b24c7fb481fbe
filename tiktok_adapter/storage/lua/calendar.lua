-- A calendar window's key holds "<period>:<count>": the period it counts in (the calendar
-- time divided by the window's length, rounded down) and what was admitted in it.
local function calendar_held(key)
  local held = redis.call('GET', key)
  if not held then return nil, 0 end
  local hb, hc = string.match(held, '^(%d+):(%d+)$')
  return tonumber(hb), tonumber(hc) or 0
end
-- The period to count in at calendar time cal, and its count so far. A worker whose clock
-- lags counts in the period the fleet has begun: never back (which would start it over).
local function calendar_current(key, cal, period)
  local bucket = math.floor(cal / period)
  local hb, hc = calendar_held(key)
  if hb and hb >= bucket then return hb, hc end
  return bucket, 0
end
