"""How long one call to Redis may take: timeouts and one quick retry, for every redis-py.

redis-py 6 and later retry a failed command up to 10 times with growing backoffs by
default, so one call on a dead master could take 4 s (refused connections) to 14 s
(timeouts). The store wants a bound, so the client is built to retry nothing (a public
``Retry(NoBackoff(), 0)``) and the store retries by itself (``with_retry``): a call
gives up after one socket timeout, and an attempt that failed quickly (a connection
refused or reset: the stale socket of a master that just died) is tried once more after
one short backoff, on a fresh connection, which under Sentinel asks again where the
master now is. A slow failure is not retried: it already cost the whole budget. A
cluster is not retried at all: its client reads the slots again after a failed node, and
a retry there could cost a second timeout. So no call takes longer than SOCKET_TIMEOUT +
RETRY_BACKOFF, plus the time to ask the Sentinels.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..exceptions import ConfigurationError
from .uri import redact_uri, sentinel_service

SOCKET_TIMEOUT = 1.0
RETRY_BACKOFF = 0.1
T = TypeVar("T")


def goes_again(failures: int, retries: int, began: float, now: float) -> bool:
    """Whether an attempt that failed at ``now`` (begun at ``began``) is tried again: a
    quick failure within ``retries``; never a slow one, which already cost the socket
    timeout. Every client of ours, sync or async, asks this."""
    return failures <= retries and now - began < SOCKET_TIMEOUT / 2


def answered(exc: BaseException) -> bool:
    """Whether the server answered with an error (a script error, NOPERM, READONLY): the
    connection is in step and a retry would get the same answer."""
    return any(c.__name__ == "ResponseError" for c in type(exc).__mro__)


def with_retry(call: Callable[[], T], reset: Callable[[], None], retries: int = 1) -> T:
    """``call()``; once more after a quick connection failure (``reset`` drops the idle
    connections first, so the next attempt connects anew)."""
    failures = 0
    while True:
        began = time.monotonic()
        try:
            return call()
        except Exception as exc:
            failures += 1
            if answered(exc) or not goes_again(failures, retries, began, time.monotonic()):
                raise
            reset()
            time.sleep(RETRY_BACKOFF)


async def with_retry_async(
    call: Callable[[], Awaitable[T]], reset: Callable[[], Awaitable[None]], retries: int = 1
) -> T:
    """:func:`with_retry` for ``redis.asyncio``."""
    failures = 0
    while True:
        began = time.monotonic()
        try:
            return await call()
        except Exception as exc:
            failures += 1
            if answered(exc) or not goes_again(failures, retries, began, time.monotonic()):
                raise
            await reset()
            await asyncio.sleep(RETRY_BACKOFF)


def no_retry(module: str, asynchronous: bool = False) -> Any:
    """A ``Retry`` of ``module`` (redis or valkey) that retries nothing; None without one."""
    try:
        retry = importlib.import_module(f"{module}{'.asyncio' if asynchronous else ''}.retry")
        backoff = importlib.import_module(f"{module}.backoff")
    except ImportError:  # the registry reports the missing client with an install hint
        return None
    return retry.Retry(backoff.NoBackoff(), 0)


def takes(cls: Any, name: str) -> bool:
    """Whether ``cls``'s constructor has the keyword ``name`` (it varies across releases)."""
    return name in inspect.signature(cls.__init__).parameters


def _cluster_takes_retry(module: str) -> bool:
    try:
        cluster = importlib.import_module(f"{module}.cluster")
    except ImportError:
        return False
    return takes(getattr(cluster, "ValkeyCluster" if module == "valkey" else "RedisCluster"),
                 "retry")  # fmt: skip


def client_options(uri: str) -> dict[str, Any]:
    """Keyword arguments for the client that `limits` opens for ``uri``."""
    scheme = uri.split("://", 1)[0].lower()
    module = "valkey" if scheme.startswith("valkey") else "redis"
    timeouts = {"socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": SOCKET_TIMEOUT}
    opts: dict[str, Any] = dict(timeouts)
    retry = no_retry(module)
    cluster = scheme.endswith("+cluster")
    if retry is not None and (not cluster or _cluster_takes_retry(module)):
        opts["retry"] = retry
    if scheme.endswith("+sentinel"):
        # The Sentinels are asked first. Without these a refused Sentinel costs seconds of
        # the client's own retries per request (4 s measured); one try each is enough.
        opts["sentinel_kwargs"] = {**timeouts, "retry": no_retry(module)}
    elif cluster and "retry" not in opts:
        opts["cluster_error_retry_attempts"] = 1  # redis-py 4 counts attempts: 1 is none
    return opts


# The URI schemes of the Redis family that the Redis store serves, sync and async.
SCHEMES = frozenset(
    f"{family}{tls}{kind}"
    for family in ("redis", "valkey")
    for tls in ("", "s")
    for kind in ("", "+cluster", "+sentinel", "+unix")
    if not (tls and kind == "+unix")
)


def check_uri(uri: str) -> None:
    """Refuse at construction a Sentinel URI without its service name, and a database
    that is not a number (redis-py would quietly use database 0 instead)."""
    scheme = uri.split("://", 1)[0].lower()
    if scheme.endswith("+sentinel") and not sentinel_service(uri):
        raise ConfigurationError(
            f"storage_uri={redact_uri(uri)!r} names no Sentinel service; write it as "
            f"{scheme}://[:password@]host:26379[,host:port]/<service name>"
        )
    if scheme.endswith(("+sentinel", "+unix")):
        return  # the path is the service's name, or the socket's
    database = urlsplit(uri).path.strip("/")
    if database and not database.isdigit():
        raise ConfigurationError(
            f"storage_uri={redact_uri(uri)!r}: the database {database!r} is not a number; "
            f"write it as {scheme}://host:6379/<database number>, such as /0"
        )


def requires(uri: str) -> tuple[str, str]:
    """The client module a Redis URI needs, and the command that installs it."""
    if uri.lower().startswith("valkey"):
        return "valkey", "pip install valkey"
    return "redis", "pip install 'tiktok-adapter[redis]'"
