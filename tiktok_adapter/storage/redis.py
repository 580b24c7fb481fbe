"""Window counting shared through Redis: one Lua script, one round trip per admission."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import limits
import limits.errors
import limits.storage

from ..core.forksafe import after_fork_in_child
from ..core.windows import ADMITTED, QUOTA_BLOCK, Admission, StorageError, Store, Usage, Window
from ..exceptions import ConfigurationError
from .base import Backend, StoreOptions
from .uri import describe_error, redact_uri, sentinel_service, uri_secrets

# Opens a client to the store; raises StorageError while the store cannot be reached.
Connect = Callable[[], Any]

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
    """Windows and blocks in Redis, shared by every process with the same key prefix.

    The client is opened on first use and again after a failed attempt, so a store
    that is down when the adapter is built (a Redis Cluster connects at once) is an
    outage like any other, not an error at construction.
    """

    def __init__(
        self,
        connect: Connect,
        *,
        key_prefix: str,
        margin: float,
        use_storage_time: bool,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.margin = margin
        self.use_storage_time = use_storage_time
        self.client: Any = None
        self._open = connect
        self._tag = "{" + key_prefix + "}"
        self._secrets = secrets
        self._lock = threading.Lock()
        after_fork_in_child(self, "_lock")
        self._acquire: Any = None
        self._block: Any = None
        self._usage: Any = None
        try:
            self._connect(at_start=True)
        except StorageError:
            pass  # the first request reports it, through fallback or StorageUnavailable

    def _connect(self, at_start: bool = False) -> Any:
        with self._lock:
            if self._acquire is None:
                try:
                    client = self._open()
                    scripts = [client.register_script(s) for s in (_ACQUIRE, _BLOCK, _USAGE)]
                except StorageError:
                    raise
                except ConfigurationError:
                    if at_start:  # a setting that cannot work is the caller's to fix
                        raise
                    raise StorageError("the storage URI was refused") from None
                except Exception as exc:  # every other failure of the store is an outage
                    raise StorageError(describe_error(exc, self._secrets)) from None
                self.client = client
                self._block, self._usage = scripts[1], scripts[2]
                self._acquire = scripts[0]  # set last: it is what says "connected"
            return self.client

    def _failed(self, exc: Exception) -> StorageError:
        return StorageError(describe_error(exc, self._secrets))

    def _key(self, kind: str, name: str) -> str:
        # Built on every call rather than cached: a cache keyed by token and path would
        # grow with every user and unknown path, and formatting costs less than a lookup.
        return f"{self._tag}:{kind}:{name}"

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
        if self._acquire is None:
            self._connect()
        try:
            admitted, wait, binding = self._acquire(keys=keys, args=args)
        except Exception as exc:
            raise self._failed(exc) from exc
        if admitted:
            return ADMITTED
        binding = int(binding)
        if binding <= len(blocks):
            quota = blocks[binding - 1].startswith(QUOTA_BLOCK)
            return Admission(False, float(wait), "server", quota)
        rate = windows[binding - len(blocks) - 1].rate
        return Admission(False, float(wait), rate.text, rate.calendar, rate)

    def block(self, key: str, until: float, now: float) -> None:
        span = until - now
        if span <= 0:
            return
        if self._acquire is None:
            self._connect()
        try:
            self._block(keys=[self._key("b", key)], args=[self._now_arg(now), span])
        except Exception as exc:
            raise self._failed(exc) from exc

    def blocked_until(self, key: str, now: float) -> float:
        client = self._connect() if self._acquire is None else self.client
        try:
            raw = client.get(self._key("b", key))
            if raw is None:
                return 0.0
            if self.use_storage_time:
                seconds, micros = client.time()
                span = float(raw) - (seconds + micros / 1e6)
            else:
                span = float(raw) - now
        except Exception as exc:
            raise self._failed(exc) from exc
        return now + span if span > 0 else 0.0

    def usage(self, window: Window, now: float) -> Usage:
        rate = window.rate
        args = [self._now_arg(now), rate.amount, rate.period, self.margin]
        args.append(1 if rate.calendar else 0)
        if self._acquire is None:
            self._connect()
        try:
            used, span = self._usage(keys=[self._key("w", window.key)], args=args)
        except Exception as exc:
            raise self._failed(exc) from exc
        return Usage(int(used), now + max(float(span), 0.0))

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.close()
        except Exception:  # closing a dead connection is not worth an error
            pass


SCHEMES = frozenset(
    f"{family}{tls}{kind}"
    for family in ("redis", "valkey")
    for tls in ("", "s")
    for kind in ("", "+cluster", "+sentinel", "+unix")
    if not (tls and kind == "+unix")
)


def _check(uri: str) -> None:
    scheme = uri.split("://", 1)[0].lower()
    if scheme.endswith("+sentinel") and not sentinel_service(uri):
        raise ConfigurationError(
            f"storage_uri={redact_uri(uri)!r} names no Sentinel service; write it as "
            f"{scheme}://[:password@]host:26379[,host:port]/<service name>"
        )


def _requires(uri: str) -> tuple[str, str]:
    if uri.lower().startswith("valkey"):
        return "valkey", "pip install valkey"
    return "redis", "pip install 'tiktok-adapter[redis]'"


def _open(options: StoreOptions) -> Store:
    """A Redis store for the URI; `limits` parses the URI and opens the connection.

    A setting that cannot work raises ConfigurationError here. A store that cannot be
    reached does not: the store connects on first use and again after each failure, so
    that an outage at start-up (a Redis Cluster connects at once) is handled like any
    other, by the fallback or by StorageUnavailable.
    """
    uri = options.uri
    timeouts = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    opts: dict[str, Any] = dict(timeouts)
    if uri.split("://", 1)[0].lower().endswith("+sentinel"):
        # The Sentinels are asked first. Without these a refused Sentinel costs seconds of
        # the client's own retries per request (4 s measured); one try each is enough.
        opts["sentinel_kwargs"] = {**timeouts, "retry": None}
    opts.update(options.client_options)
    shown, secrets = redact_uri(uri), uri_secrets(uri)

    def connect() -> Any:
        try:
            backend = limits.storage.storage_from_string(uri, **opts)
        except (limits.errors.ConfigurationError, ValueError, TypeError) as exc:
            hint = " (pip install 'tiktok-adapter[redis]')" if "prerequisite" in str(exc) else ""
            raise ConfigurationError(
                f"storage_uri={shown!r} cannot be used: {describe_error(exc, secrets)}{hint}"
            ) from None
        except Exception as exc:  # unreachable: RedisCluster connects in its constructor
            raise StorageError(describe_error(exc, secrets)) from None
        return backend.get_connection()  # type: ignore[union-attr]

    return RedisStore(
        connect,
        key_prefix=options.key_prefix,
        margin=options.margin,
        use_storage_time=options.use_storage_time,
        secrets=secrets,
    )


BACKEND = Backend("redis", SCHEMES, shared=True, open=_open, check=_check, requires=_requires)
