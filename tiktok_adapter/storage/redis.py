"""Window counting shared through Redis: one EVALSHA, one round trip per admission."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import limits
import limits.errors
import limits.storage

from ..core.forksafe import after_fork_in_child
from ..core.lateness import REDATE_REACH
from ..core.windows import Admission, StorageError, Store, Usage, Window
from ..exceptions import ConfigurationError
from ._redis_client import client_options
from ._redis_lane import Lane, bulk
from ._redis_plan import Plans
from ._redis_scripts import SCRIPTS, block_slot
from .base import Backend, StoreOptions
from .uri import describe_error, redact_uri, sentinel_service, uri_secrets

# Opens a client to the store; raises StorageError while the store cannot be reached.
Connect = Callable[[], Any]
# The empty ``now`` argument (the script reads Redis's clock), packed once.
_STORE_CLOCK = bulk(b"")


class RedisStore:
    """Windows and blocks in Redis, shared by every process with the same key prefix.

    One admission is one EVALSHA whose keys and arguments were encoded when its route
    was first seen. The client is opened on first use and again after a failed attempt,
    so a store that is down when the adapter is built (a Redis Cluster connects at once)
    is an outage like any other, not an error at construction.
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
        self.tag = "{" + key_prefix + "}"
        self._secrets = secrets
        self._lock = threading.Lock()
        after_fork_in_child(self, "_lock")
        self.plans = Plans(self.tag, margin)
        self._lane: Lane | None = None  # the admission command's own connections
        self._cluster: Any = None  # a cluster client to refresh before its next use
        try:
            self._connect(at_start=True)
        except StorageError:
            pass  # the first request reports it, through fallback or StorageUnavailable

    def _connect(self, at_start: bool = False) -> Any:
        with self._lock:
            if self.client is None:
                try:
                    self.client = self._reopen()
                    self._lane = Lane.of(self.client)
                except StorageError:
                    raise
                except ConfigurationError:
                    if at_start:  # a setting that cannot work is the caller's to fix
                        raise
                    raise StorageError("the storage URI was refused") from None
                except Exception as exc:  # every other failure of the store is an outage
                    raise StorageError(describe_error(exc, self._secrets)) from None
            return self.client

    def connection(self) -> Any:
        """The client, opened when it is not (raises StorageError while it cannot be)."""
        return self.client if self.client is not None else self._connect()

    def _reopen(self) -> Any:
        """A new client; or, for a cluster client that failed, the same one after it has
        read again which node serves which slot (it read that at the failure, which may
        have been before a replica was promoted)."""
        cluster, self._cluster = self._cluster, None
        if cluster is None:
            return self._open()
        try:
            cluster.nodes_manager.initialize()
        except Exception:
            self._cluster = cluster
            raise
        return cluster

    def _failed(self, exc: Exception) -> StorageError:
        client = self.client
        if self._lane is not None:
            self._lane.reset()
        if hasattr(client, "nodes_manager"):
            self._cluster, self.client = client, None  # refreshed by the next _connect
        # The pool's idle connections may lead to the master that just failed (a frozen
        # one costs a timeout each); new ones ask the Sentinels where the master is now.
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            with contextlib.suppress(Exception):
                pool.disconnect(inuse_connections=False)
        return StorageError(describe_error(exc, self._secrets))

    def _run(self, script: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        client = self.client if self.client is not None else self._connect()
        rest = (len(keys), *keys, *args)
        try:
            return client.execute_command("EVALSHA", SCRIPTS[script].sha, *rest)
        except Exception as exc:
            return self._loaded(client, exc, script, rest)

    def _loaded(self, client: Any, exc: Exception, script: str, rest: Sequence[Any]) -> Any:
        """EVAL when this server has not seen the script (a new master after a failover, a
        restarted server), which also loads it there; any other error is a StorageError."""
        # redis-py raises NoScriptError (valkey the same name); a raw reply says NOSCRIPT.
        if type(exc).__name__ != "NoScriptError" and "NOSCRIPT" not in str(exc):
            raise self._failed(exc) from exc
        try:
            return client.execute_command("EVAL", SCRIPTS[script].text, *rest)
        except Exception as again:
            raise self._failed(again) from again

    def _now_arg(self, now: float | None) -> bytes:
        return b"" if self.use_storage_time or now is None else repr(now).encode()

    def acquire(
        self,
        windows: Sequence[Window],
        blocks: Sequence[str],
        now: float | None,
        share: float = 1.0,
    ) -> Admission:
        plan = self.plans.get(windows, blocks)
        share_arg, share_bulk = self.plans.share(share)
        client = self.client if self.client is not None else self._connect()
        now_arg = self._now_arg(now)
        lane = self._lane
        try:
            if lane is not None:
                now_bulk = bulk(now_arg) if now_arg else _STORE_CLOCK  # Redis's clock: no now
                reply = lane.call(b"".join((plan.prefix, now_bulk, share_bulk, plan.suffix)))
            else:
                reply = client.execute_command(*plan.head, now_arg, share_arg, *plan.tail)
        except Exception as exc:
            reply = self._loaded(client, exc, "acquire", (*plan.head[2:], now_arg, share_arg,
                                                          *plan.tail))  # fmt: skip
        return plan.admission(reply)

    def block(self, key: str, until: float, now: float) -> None:
        span = until - now
        if span <= 0:
            return
        name, field = block_slot(key)
        self._run("block", [f"{self.tag}:b:{name}"], [self._now_arg(now), repr(span), field])

    def blocked_until(self, key: str, now: float) -> float:
        client = self.client if self.client is not None else self._connect()
        name, field = block_slot(key)
        try:
            raw = client.hget(f"{self.tag}:b:{name}", field)
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
        used, span = self._run("usage", [f"{self.tag}:w:{window.key}"], args)
        return Usage(int(used), now + max(float(span), 0.0))

    def redate(self, windows: Sequence[Window], now: float, elapsed: float, shift: float) -> None:
        """Move the entries of the request admitted ``elapsed`` ago ``shift`` later, in
        each moving window (its answer came back late; see ``MemoryStore.redate``)."""
        moving = [w for w in windows if not w.rate.calendar]
        if not moving:
            return
        keys = [f"{self.tag}:w:{w.key}" for w in moving]
        args = [self._now_arg(now), repr(elapsed), repr(shift), repr(self.margin),
                repr(REDATE_REACH), *(repr(float(w.rate.period)) for w in moving)]  # fmt: skip
        self._run("redate", keys, args)

    def close(self) -> None:
        if self._lane is not None:
            self._lane.close()
        for client in (self.client, self._cluster):
            if client is not None:
                with contextlib.suppress(Exception):  # a dead connection is not worth an error
                    client.close()


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
    opts = client_options(uri)
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
