"""How long one call to Redis may take: timeouts and one retry, for every redis-py release.

redis-py 6 and later retry a failed command up to 10 times with growing backoffs by
default, so one call on a dead master could take 4 s (refused connections) to 14 s
(timeouts). The store wants a bound: a call gives up after one socket timeout, and an attempt
that failed quickly (a connection refused or reset: the stale socket of a master that
just died) is tried once more after one short backoff, on a fresh connection, which under
Sentinel asks again where the master now is. A slow failure is not retried: it already
cost the whole budget.
A cluster is not retried at all (see client_options). So no call takes longer than
SOCKET_TIMEOUT + RETRY_BACKOFF, plus the time to ask the Sentinels.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from typing import Any

SOCKET_TIMEOUT = 1.0
RETRY_BACKOFF = 0.1


def goes_again(failures: int, retries: int, began: float, now: float) -> bool:
    """Whether an attempt that failed at ``now`` (begun at ``began``) is tried again: a
    quick failure within ``retries``; never a slow one, which already cost the socket
    timeout. Every client of ours, sync or async, and the admission lane ask this."""
    return failures <= retries and now - began < SOCKET_TIMEOUT / 2


def _retry(module: str, retries: int) -> Any:
    """A Retry of ``module`` (redis or valkey) that retries only a quick failure."""
    try:
        base = importlib.import_module(f"{module}.retry").Retry
        backoff = importlib.import_module(f"{module}.backoff")
        errors = importlib.import_module(f"{module}.exceptions")
    except ImportError:  # the registry reports the missing client with an install hint
        return None

    class QuickRetry(base):  # type: ignore[misc, valid-type]
        """Retries an attempt that failed quickly (refused, reset), never a slow one.

        A new connection to a master that hangs fails slowly, whatever error the client
        makes of the timeout (a ConnectionError, while it greets the server): it already
        cost the socket timeout, and a second try would cost it again.
        """

        def call_with_retry(
            self, do: Callable[[], Any], fail: Callable[..., Any],
            is_retryable: Callable[[Exception], bool] | None = None,
            with_failure_count: bool = False,
        ) -> Any:  # fmt: skip
            failures = 0
            while True:
                began = time.monotonic()
                try:
                    return do()
                except self._supported_errors as error:
                    if is_retryable is not None and not is_retryable(error):
                        raise
                    failures += 1
                    fail(error, failures) if with_failure_count else fail(error)
                    if not goes_again(failures, self._retries, began, time.monotonic()):
                        raise error
                    time.sleep(RETRY_BACKOFF)

    return QuickRetry(backoff.NoBackoff(), retries, supported_errors=(errors.ConnectionError,))


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
    cluster = scheme.endswith("+cluster")
    # A cluster client retries on timeouts too, whatever errors its Retry names, and asks
    # the nodes where the slot went before it does: a retry there could cost a second
    # timeout. It follows a planned failover by its MOVED replies, without a retry.
    retry = _retry(module, 0 if cluster else 1)
    if retry is not None:
        opts["retry"] = retry
    if scheme.endswith("+sentinel"):
        # The Sentinels are asked first. Without these a refused Sentinel costs seconds of
        # the client's own retries per request (4 s measured); one try each is enough.
        opts["sentinel_kwargs"] = {**timeouts, "retry": None}
    elif cluster and not _cluster_takes_retry(module):
        opts.pop("retry", None)  # redis-py 4 counts attempts instead: 1 is no retry
        opts["cluster_error_retry_attempts"] = 1
    return opts
