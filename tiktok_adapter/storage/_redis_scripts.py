"""The Lua scripts of the Redis store, and the layout of their keys and arguments.

Every script takes ``now`` as ARGV[1]; an empty one means Redis's own clock, which is the
same for every worker whatever their machines' clocks say.

Blocks are kept one hash per endpoint, one field per kind of block ("ep" for a server's
pause, "q" for a spent quota), so that admission reads both with one HMGET.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# Why one script of our own rather than `limits`' per-item scripts: those check and
# charge one window each, so a request refused by the hour window after the minute
# window's script has run would leave the minute window charged, and two workers can
# interleave between the scripts. Redis runs one script atomically, so checking every
# window and block before charging any makes admission exact and all-or-nothing across
# every process that shares the server. All keys share one hash tag, which keeps them
# on one slot for Redis Cluster.
#
# KEYS: the block hashes, then one key per window.
# ARGV: now, share, margin, the number of block hashes; for each hash the number of its
# fields and the fields; for each window its amount, period and 1 for a calendar window
# ("1:<cost>" for one charged <cost> at once, such as reserved records) or 0.
# Each key is read once; the reply is 0 when admitted, else "<wait> <binding>", where
# binding counts the block fields first, then the windows, from 1.
ACQUIRE = (
    _NOW
    + """
local share = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local nh = tonumber(ARGV[4])
local a, nb = 5, 0
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
local counts = {}
for i = nh + 1, #KEYS do
  local amount, period = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local cap = amount
  if share < 1 then cap = math.max(1, math.floor(amount * share)) end
  if string.sub(ARGV[a + 2], 1, 1) == '1' then
    -- "1:<cost>" charges a calendar window <cost> at once (reserved records)
    local cost = math.min(tonumber(string.sub(ARGV[a + 2], 3)) or 1, cap)
    local bucket = math.floor(now / period)
    local count = 0
    local held = redis.call('GET', KEYS[i])
    if held then
      local hb, hc = string.match(held, '^(%d+):(%d+)$')
      if tonumber(hb) == bucket then count = tonumber(hc) end
    end
    counts[i] = count + cost
    if count + cost > cap then
      local w = (bucket + 1) * period + margin - now
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
a = first
for i = nh + 1, #KEYS do
  local amount, period = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  if string.sub(ARGV[a + 2], 1, 1) == '1' then
    local bucket = math.floor(now / period)
    local ttl = math.ceil(((bucket + 1) * period + margin - now) * 1000)
    redis.call('SET', KEYS[i], string.format('%d:%d', bucket, counts[i]), 'PX', ttl)
  else
    -- One entry in, one out: RPOP costs less than LTRIM, which is for a lowered amount.
    local n = redis.call('LPUSH', KEYS[i], stamp)
    if n == amount + 1 then redis.call('RPOP', KEYS[i])
    elseif n > amount then redis.call('LTRIM', KEYS[i], 0, amount - 1) end
    redis.call('PEXPIRE', KEYS[i], math.ceil((period + margin) * 1000))
  end
  a = a + 3
end
return 0
"""
)

# Blocks are written as a span, not a moment, and turned into a moment on the store's
# clock, so a worker whose clock is off still blocks for the right time. The hash lives
# as long as its longest block. ARGV: now, span, field.
BLOCK = (
    _NOW
    + """
local span = tonumber(ARGV[2])
local untilv = now + span
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[3]))
if (not cur) or cur < untilv then
  redis.call('HSET', KEYS[1], ARGV[3], string.format('%.6f', untilv))
  local ms = math.ceil(span * 1000)
  if redis.call('PTTL', KEYS[1]) < ms then redis.call('PEXPIRE', KEYS[1], ms) end
end
return 1
"""
)

# A late answer moves its request's entries later (see core.lateness). The entry nearest
# the moment of admission, ``elapsed`` before now on the store's clock and within reach,
# moves by ``shift``, back into newest-first order; the key lives as long as its newest
# entry needs. KEYS: the moving windows. ARGV: now, elapsed, shift, margin, reach, then
# each window's period. Rare (only late answers), so reading whole lists is affordable.
REDATE = (
    _NOW
    + """
local stamp = now - tonumber(ARGV[2])
local shift, margin, reach = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
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
    local ms = math.ceil((moved + tonumber(ARGV[5 + i]) + margin - now) * 1000)
    if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end
  end
end
return 0
"""
)

# Returns spans relative to the store's clock, for the same reason.
USAGE = (
    _NOW
    + """
local amount, period, margin = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[5] == '1' then
  local bucket = math.floor(now / period)
  local held = redis.call('GET', KEYS[1])
  local count = 0
  if held then
    local hb, hc = string.match(held, '^(%d+):(%d+)$')
    if tonumber(hb) == bucket then count = tonumber(hc) end
  end
  return {count, string.format('%.6f', (bucket + 1) * period - now)}
end
local entries = redis.call('LRANGE', KEYS[1], 0, amount - 1)
local used, oldest = 0, nil
for _, e in ipairs(entries) do
  local t = tonumber(e)
  if t and t > now - period - margin then used = used + 1; oldest = t end
end
if oldest then return {used, string.format('%.6f', oldest + period + margin - now)} end
return {0, '0'}
"""
)


@dataclass(frozen=True)
class Script:
    """A script's text and its SHA1, computed here so no round trip is spent loading it."""

    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> Script:
        return cls(text, hashlib.sha1(text.encode()).hexdigest())


SCRIPTS = {
    name: Script.of(text)
    for name, text in (("acquire", ACQUIRE), ("block", BLOCK), ("usage", USAGE), ("redate", REDATE))
}


def block_slot(block: str) -> tuple[str, str]:
    """(endpoint, field) of a block key: "q:/video/query/" is field "q" of its endpoint's hash."""
    field, colon, name = block.partition(":")
    return (name, field) if colon else (block, "")
