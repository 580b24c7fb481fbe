"""How long one call to Redis may take: timeouts and one retry, for every redis-py release.

redis-py 6 and later retry a failed command up to 10 times with growing backoffs by
default, so one call on a dead master could take 4 s (refused connections) to 14 s
(timeouts). The store wants a bound: a call gives up after one socket timeout, and a
connection that is refused or reset (the stale socket of a master that just died) is
tried once more after one short backoff, on a fresh connection, which under Sentinel or
Cluster asks again where the master now is. A timeout is not retried: it already cost
the whole budget. So no call takes longer than SOCKET_TIMEOUT + RETRY_BACKOFF, plus the
time to ask the Sentinels.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

SOCKET_TIMEOUT = 1.0
RETRY_BACKOFF = 0.1


def _one_retry(module: str) -> Any:
    """A Retry of ``module`` (redis or valkey): once, on a connection error only."""
    try:
        retry = importlib.import_module(f"{module}.retry")
        backoff = importlib.import_module(f"{module}.backoff")
        errors = importlib.import_module(f"{module}.exceptions")
    except ImportError:  # the registry reports the missing client with an install hint
        return None
    return retry.Retry(
        backoff.ConstantBackoff(RETRY_BACKOFF), 1, supported_errors=(errors.ConnectionError,)
    )


def _cluster_takes_retry(module: str) -> bool:
    try:
        cluster = importlib.import_module(f"{module}.cluster")
    except ImportError:
        return False
    name = "ValkeyCluster" if module == "valkey" else "RedisCluster"
    return "retry" in inspect.signature(getattr(cluster, name).__init__).parameters


def client_options(uri: str) -> dict[str, Any]:
    """Keyword arguments for the client that `limits` opens for ``uri``."""
    scheme = uri.split("://", 1)[0].lower()
    module = "valkey" if scheme.startswith("valkey") else "redis"
    timeouts = {"socket_timeout": SOCKET_TIMEOUT, "socket_connect_timeout": SOCKET_TIMEOUT}
    opts: dict[str, Any] = dict(timeouts)
    retry = _one_retry(module)
    if retry is not None:
        opts["retry"] = retry
    if scheme.endswith("+sentinel"):
        # The Sentinels are asked first. Without these a refused Sentinel costs seconds of
        # the client's own retries per request (4 s measured); one try each is enough.
        opts["sentinel_kwargs"] = {**timeouts, "retry": None}
    elif scheme.endswith("+cluster") and not _cluster_takes_retry(module):
        # The cluster retries a command itself after re-reading which node owns its slot;
        # once is enough to follow a failover. redis-py 4 counts attempts instead.
        opts.pop("retry", None)
        opts["cluster_error_retry_attempts"] = 1
    return opts
