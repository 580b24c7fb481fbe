"""Window counting shared through Redis: one EVALSHA, one round trip per admission."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import limits
import limits.errors
import limits.storage

from ..core.clock import wall_time
from ..core.forksafe import after_fork_in_child
from ..core.lateness import REDATE_REACH
from ..core.learning import LearnedPlace, LearningPolicy
from ..core.stats import StorageHealth
from ..core.windows import Admission, StorageError, Store, Usage, Window
from ..exceptions import ConfigurationError
from ._redis_async import shared_store
from ._redis_client import SCHEMES, check_uri, client_options, requires, with_retry
from ._redis_plan import Plans
from ._redis_problems import eviction_problems, problem_of
from ._redis_scripts import Keys, block_slot, is_noscript, run
from .base import AsyncStore, Backend, StoreOptions
from .learned import RedisLearned
from .uri import describe_error, redact_uri, uri_secrets

# Opens a client to the store; raises StorageError while the store cannot be reached.
Connect = Callable[[], Any]


class RedisStore:
    """Windows and blocks in Redis, shared by every process with the same key prefix.

    One admission is one EVALSHA through the client's public ``execute_command``, whose
    keys and arguments were encoded when its route was first seen. The client is opened
    on first use and again after a failed attempt, so a store that is down when the
    adapter is built (a Redis Cluster connects at once) is an outage like any other, not
    an error at construction.
    """

    def __init__(
        self,
        connect: Connect,
        *,
        key_prefix: str,
        margin: float,
        use_storage_time: bool,
        secrets: tuple[str, ...] = (),
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.margin = margin
        self.use_storage_time = use_storage_time
        # The calendar time of calendar windows (@utc): the adapter's wall clock, never
        # Redis's (see lua/acquire.lua).
        self.wall = wall
        self.client: Any = None
        self._open = connect
        self.keys = Keys.of(key_prefix)
        self.tag = self.keys.tag
        self._secrets = secrets
        self._lock = threading.Lock()
        after_fork_in_child(self, "_lock")
        self.plans = Plans(self.keys, margin)
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

    def _drop_idle(self) -> None:
        """The pool's idle connections may lead to the master that just failed (a frozen
        one costs a timeout each); new ones ask the Sentinels where the master is now."""
        pool = getattr(self.client, "connection_pool", None)
        if pool is not None:
            with contextlib.suppress(Exception):
                pool.disconnect(inuse_connections=False)

    def _failed(self, exc: Exception) -> StorageError:
        client = self.client
        if hasattr(client, "nodes_manager"):
            self._cluster, self.client = client, None  # refreshed by the next _connect
        self._drop_idle()
        return problem_of(exc, self._secrets)

    def _call(self, call: Callable[[Any], Any]) -> Any:
        """``call(client)``, retried once after a quick connection failure (never on a
        cluster, see ``_redis_client``); any failure is a StorageError."""
        try:
            client = self.client if self.client is not None else self._connect()
            if self._cluster is None and not hasattr(client, "nodes_manager"):
                return with_retry(lambda: call(client), self._drop_idle)
            return call(client)
        except StorageError:
            raise
        except Exception as exc:
            raise self._failed(exc) from None

    def _run(self, script: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        return self._call(lambda client: run(client, script, keys, args))

    def _now_arg(self, now: float | None) -> bytes:
        return b"" if self.use_storage_time or now is None else repr(now).encode()

    def acquire(
        self,
        windows: Sequence[Window],
        blocks: Sequence[str],
        now: float | None,
        share: float = 1.0,
    ) -> Admission:
        plans = self.plans
        plan = plans.get(windows, blocks)
        now_arg, share_arg = self._now_arg(now), plans.share(share)
        calendar_arg = plans.calendar(plan, self.wall)

        def admit(client: Any) -> Any:
            try:
                return client.execute_command(
                    *plan.head, now_arg, share_arg, calendar_arg, *plan.tail
                )
            except Exception as exc:
                if not is_noscript(exc):
                    raise
            keys, args = plan.keys_and_args(now_arg, share_arg, calendar_arg)
            return run(client, "acquire", keys, args)  # EVAL loads it on this server

        return plan.admission(self._call(admit))

    def block(self, key: str, until: float, now: float) -> None:
        span = until - now
        if span <= 0:
            return
        name, field = block_slot(key)
        self._run("block", [self.keys.block(name)], [self._now_arg(now), repr(span), field])

    def blocked_until(self, key: str, now: float) -> float:
        name, field = block_slot(key)

        def read(client: Any) -> float:
            raw = client.hget(self.keys.block(name), field)
            if raw is None:
                return 0.0
            if self.use_storage_time:
                seconds, micros = client.time()
                return float(raw) - (float(seconds) + float(micros) / 1e6)
            return float(raw) - now

        span = float(self._call(read))
        return now + span if span > 0 else 0.0

    def usage(self, window: Window, now: float) -> Usage:
        rate = window.rate
        args = [self._now_arg(now), rate.amount, rate.period, self.margin]
        args += [1, repr(self.wall())] if rate.calendar else [0]
        used, span = self._run("usage", [self.keys.window(window.key)], args)
        return Usage(int(used), now + max(float(span), 0.0))

    def redate(
        self, windows: Sequence[Window], now: float, elapsed: float, shift: float,
        stamp: float | None = None,
    ) -> None:  # fmt: skip
        """Move the entries of the request admitted ``elapsed`` ago ``shift`` later, in
        each moving window (its answer came back late; see ``MemoryStore.redate``).

        ``stamp`` is the admission's own stamp of them (``Admission.stamp``), where they
        are looked for when given: a command delayed on its way makes Redis stamp them
        later than ``elapsed`` ago, by as much as the delay."""
        moving = [w for w in windows if not w.rate.calendar]
        if not moving:
            return
        keys = [self.keys.window(w.key) for w in moving]
        target = "" if stamp is None else f"{stamp:.6f}"
        args = [self._now_arg(now), repr(elapsed), target, repr(shift), repr(self.margin),
                repr(REDATE_REACH), *(repr(float(w.rate.period)) for w in moving)]  # fmt: skip
        self._run("redate", keys, args)

    def refund(self, window: Window, amount: int, wall: float) -> None:
        """Give ``amount`` back to calendar window ``window`` in the period that contains
        ``wall`` (see ``lua/refund.lua``): the admission charged a reservation's whole cost
        at once ("1:<cost>"), and the answer said how many records came back."""
        if amount <= 0 or not window.rate.calendar:
            return
        bucket = str(int(wall // window.rate.period))
        self._run("refund", [self.keys.window(window.key)], [bucket, str(amount)])

    def calendar_time(self, now: float) -> float:
        return self.wall()  # the caller's calendar, not Redis's clock (see acquire.lua)

    def health(self) -> StorageHealth | None:
        return None  # the fallback in front of this store knows (FallbackStore.health)

    def heartbeat(self, member: str, state: str, forget: float) -> list[Any]:
        """Say that ``member`` is alive (see ``fleet``); the fleet as Redis knows it."""
        keys = list(self.keys.members)
        return list(self._run("members", keys, [member, state, repr(forget)]))

    def roster(self) -> list[Any]:
        return list(self._run("fleet", list(self.keys.members), []))

    def replay(
        self, entries: Sequence[tuple[Window, Sequence[float], int, int]], now: float
    ) -> None:
        """Add what this process admitted alone (stamps on the store's clock) to the shared
        windows (see ``lua/replay.lua``)."""
        keys: list[str] = []
        args: list[str | bytes] = [self._now_arg(now), repr(self.margin), repr(self.wall())]
        for window, stamps, alone, held in entries:
            rate = window.rate
            keys.append(self.keys.window(window.key))
            args += [str(rate.amount), repr(float(rate.period)), "1" if rate.calendar else "0"]
            args += [str(held), str(len(stamps)), str(alone), *(repr(s) for s in stamps)]
        if keys:
            self._run("replay", keys, args)

    def inspect(self) -> list[str]:
        """What in the server's own settings would break the windows, each with its fix
        (an eviction policy that may remove window keys); empty when none is found."""
        try:
            memory = self._call(lambda client: client.info("memory"))
        except StorageError:
            return []  # INFO may be refused to an ACL user; admission itself still tells
        if not isinstance(memory, dict):
            return []  # a cluster client answers per node
        return eviction_problems(memory)

    def learned_place(self, key_prefix: str, policy: LearningPolicy) -> LearnedPlace:
        return RedisLearned(self.connection, key_prefix, policy)

    def close(self) -> None:
        for client in (self.client, self._cluster):
            if client is not None:
                with contextlib.suppress(Exception):  # a dead connection is not worth an error
                    client.close()
                # The client's pool is this store's alone, and redis before 5 leaves its
                # connections open on close; a cluster client has none.
                pool = getattr(client, "connection_pool", None)
                if pool is not None:
                    with contextlib.suppress(Exception):
                        pool.disconnect()


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
        wall=partial(wall_time, options.clock),
    )


def _open_async(store: Store, options: StoreOptions) -> AsyncStore:
    """The async face of ``store`` (the fallback over the Redis store that ``_open``
    opened): the same scripts and keys through ``redis.asyncio``."""
    return shared_store(store, options.uri, options.key_prefix, options.margin,
                        options.use_storage_time)  # fmt: skip


BACKEND = Backend(
    "redis", SCHEMES, shared=True, open=_open, check=check_uri, requires=requires,
    open_async=_open_async,
)  # fmt: skip
