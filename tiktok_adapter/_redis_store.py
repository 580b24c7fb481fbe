"""Window counting shared through Redis: one Lua script, one round trip per admission."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._limiter import ADMITTED, QUOTA_BLOCK, Admission, StorageError, Usage, Window

# Every script takes ``now`` as ARGV[1]; an empty one means Redis's own clock, which is
# the same for every worker whatever their machines' clocks say.
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
_ACQUIRE = (
    _NOW
    + """
local margin = tonumber(ARGV[2])
local share = tonumber(ARGV[3])
local nb = tonumber(ARGV[4])
local wait, binding = 0, 0
for i = 1, nb do
  local untilv = tonumber(redis.call('GET', KEYS[i]))
  if untilv and untilv - now > wait then wait = untilv - now; binding = i end
end
for i = nb + 1, #KEYS do
  local a = 5 + (i - nb - 1) * 3
  local amount, period = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local cap = amount
  if share < 1 then cap = math.max(1, math.floor(amount * share)) end
  if ARGV[a + 2] == '1' then
    local bucket = math.floor(now / period)
    local held = redis.call('GET', KEYS[i])
    if held then
      local hb, hc = string.match(held, '^(%d+):(%d+)$')
      if tonumber(hb) == bucket and tonumber(hc) >= cap then
        local w = (bucket + 1) * period + margin - now
        if w > wait then wait = w; binding = i end
      end
    end
  else
    local entry = tonumber(redis.call('LINDEX', KEYS[i], cap - 1))
    if entry then
      local w = entry + period + margin - now
      if w > wait then wait = w; binding = i end
    end
  end
end
if wait > 0 then return {0, string.format('%.6f', wait), binding} end
local stamp = string.format('%.6f', now)
for i = nb + 1, #KEYS do
  local a = 5 + (i - nb - 1) * 3
  local amount, period = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  if ARGV[a + 2] == '1' then
    local bucket = math.floor(now / period)
    local count = 0
    local held = redis.call('GET', KEYS[i])
    if held then
      local hb, hc = string.match(held, '^(%d+):(%d+)$')
      if tonumber(hb) == bucket then count = tonumber(hc) end
    end
    local ttl = math.ceil(((bucket + 1) * period + margin - now) * 1000)
    redis.call('SET', KEYS[i], string.format('%d:%d', bucket, count + 1), 'PX', ttl)
  else
    redis.call('LPUSH', KEYS[i], stamp)
    redis.call('LTRIM', KEYS[i], 0, amount - 1)
    redis.call('PEXPIRE', KEYS[i], math.ceil((period + margin) * 1000))
  end
end
return {1, '0', 0}
"""
)

# Blocks are written as a span, not a moment, and turned into a moment on the
# store's clock, so a worker whose clock is off still blocks for the right time.
_BLOCK = (
    _NOW
    + """
local span = tonumber(ARGV[2])
local untilv = now + span
local cur = tonumber(redis.call('GET', KEYS[1]))
if (not cur) or cur < untilv then
  redis.call('SET', KEYS[1], string.format('%.6f', untilv), 'PX', math.ceil(span * 1000))
end
return 1
"""
)

# Returns spans relative to the store's clock, for the same reason.
_USAGE = (
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


class RedisStore:
    """Windows and blocks in Redis, shared by every process with the same key prefix."""

    def __init__(
        self,
        client: Any,
        *,
        key_prefix: str,
        margin: float,
        use_storage_time: bool,
        error_types: type[Exception] | tuple[type[Exception], ...],
    ) -> None:
        self.client = client
        self.margin = margin
        self.use_storage_time = use_storage_time
        self._tag = "{" + key_prefix + "}"
        self._errors = error_types
        self._acquire = client.register_script(_ACQUIRE)
        self._block = client.register_script(_BLOCK)
        self._usage = client.register_script(_USAGE)
        self._keys: dict[str, str] = {}

    def _key(self, kind: str, name: str) -> str:
        full = kind + name
        key = self._keys.get(full)
        if key is None:
            key = self._keys[full] = f"{self._tag}:{kind}:{name}"
        return key

    def _now_arg(self, now: float | None) -> str:
        return "" if self.use_storage_time or now is None else repr(now)

    def acquire(
        self,
        windows: Sequence[Window],
        blocks: Sequence[str],
        now: float | None,
        share: float = 1.0,
    ) -> Admission:
        keys = [self._key("b", b) for b in blocks]
        keys.extend(self._key("w", w.key) for w in windows)
        args: list[object] = [self._now_arg(now), self.margin, share, len(blocks)]
        for w in windows:
            args.extend((w.rate.amount, w.rate.period, 1 if w.rate.calendar else 0))
        try:
            admitted, wait, binding = self._acquire(keys=keys, args=args)
        except self._errors as exc:
            raise StorageError(f"{type(exc).__name__}: {exc}") from exc
        if admitted:
            return ADMITTED
        binding = int(binding)
        if binding <= len(blocks):
            quota = blocks[binding - 1].startswith(QUOTA_BLOCK)
            return Admission(False, float(wait), "server", quota)
        rate = windows[binding - len(blocks) - 1].rate
        return Admission(False, float(wait), rate.text, rate.calendar)

    def block(self, key: str, until: float, now: float) -> None:
        span = until - now
        if span <= 0:
            return
        try:
            self._block(keys=[self._key("b", key)], args=[self._now_arg(now), span])
        except self._errors as exc:
            raise StorageError(f"{type(exc).__name__}: {exc}") from exc

    def blocked_until(self, key: str, now: float) -> float:
        try:
            raw = self.client.get(self._key("b", key))
            if raw is None:
                return 0.0
            if self.use_storage_time:
                seconds, micros = self.client.time()
                span = float(raw) - (seconds + micros / 1e6)
            else:
                span = float(raw) - now
        except self._errors as exc:
            raise StorageError(f"{type(exc).__name__}: {exc}") from exc
        return now + span if span > 0 else 0.0

    def usage(self, window: Window, now: float) -> Usage:
        rate = window.rate
        args = [self._now_arg(now), rate.amount, rate.period, self.margin]
        args.append(1 if rate.calendar else 0)
        try:
            used, span = self._usage(keys=[self._key("w", window.key)], args=args)
        except self._errors as exc:
            raise StorageError(f"{type(exc).__name__}: {exc}") from exc
        return Usage(int(used), now + max(float(span), 0.0))

    def close(self) -> None:
        try:
            self.client.close()
        except self._errors:  # closing a dead connection is not worth an error
            pass
