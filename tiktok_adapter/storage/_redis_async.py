"""Redis for the async transport: redis.asyncio, with the sync store's Lua scripts and keys.

The command of each admission is the sync store's own plan (the same EVALSHA, keys and
arguments), so sync and async processes on one Redis count one quota. While Redis
cannot be reached, the limiter's in-process fallback decides exactly as it does for the
sync store: every admission is counted in process too, and its rules are its own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ..core.clock import wall_time
from ..core.windows import Admission, StorageError, Window
from ..exceptions import ConfigurationError
from ._redis_async_connect import (
    Opened,
    Topology,
    check_installed,
    close_quietly,
    open_client,
    target_of,
)
from ._redis_client import SCHEMES, with_retry_async
from ._redis_plan import Plans
from ._redis_problems import problem_of
from ._redis_scripts import Keys, block_slot, run_async
from .base import AsyncStore
from .fallback import FallbackStore
from .uri import describe_error, redact_uri, storage_scheme, uri_secrets

# Every scheme of the sync Redis backend: one server, a Sentinel set, a Cluster.
ASYNC_SCHEMES = SCHEMES


class AsyncRedisStore:
    """Windows and blocks in Redis through ``redis.asyncio``: one EVALSHA per admission.

    The client is opened on first use. After a failed call a cluster client reads the
    slots again before its next command (a replica may have been promoted since), and a
    pool drops its idle connections, so that new ones ask the Sentinels where the master
    is now instead of reusing sockets to the one that failed.
    """

    def __init__(self, uri: str, *, key_prefix: str, margin: float, use_storage_time: bool,
                 wall: Callable[[], float] = time.time):  # fmt: skip
        if storage_scheme(uri) not in ASYNC_SCHEMES:
            raise ConfigurationError(
                f"storage_uri={redact_uri(uri)!r}: the async httpx transport serves "
                f"{', '.join(f'{s}://' for s in sorted(ASYNC_SCHEMES))} URIs"
            )
        self.uri = uri
        self.target = target_of(uri)
        check_installed(self.target, uri)
        self.margin = margin
        self.use_storage_time = use_storage_time
        self.wall = wall  # calendar windows' clock, as the sync store's (lua/acquire.lua)
        self.opened: Opened | None = None
        self._stale = False  # a cluster client to refresh before its next command
        self._keys = Keys.of(key_prefix)
        self._secrets = uri_secrets(uri)
        self.plans = Plans(self._keys, margin)

    @property
    def client(self) -> Any:
        return self.opened.client if self.opened is not None else None

    async def _connect(self) -> Any:
        if self.opened is None:
            try:
                self.opened = open_client(self.target, self.uri)
            except ConfigurationError:
                raise
            except Exception as exc:
                raise StorageError(describe_error(exc, self._secrets)) from None
        client = self.opened.client
        if self._stale:
            self._stale = False
            try:
                await client.nodes_manager.initialize()
            except Exception as exc:
                self._stale = True
                raise StorageError(describe_error(exc, self._secrets)) from None
        return client

    async def _drop_idle(self) -> None:
        """Idle connections may lead to the master that just failed; new ones ask the
        Sentinels where the master is now."""
        pool = getattr(self.client, "connection_pool", None)
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.disconnect(inuse_connections=False)

    async def _call(self, script: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Script ``script`` (the sync store's), retried once after a quick connection
        failure except on a cluster (see ``storage._redis_client``)."""
        client = await self._connect()
        cluster = self.opened is not None and self.opened.topology is Topology.CLUSTER
        try:
            if cluster:
                return await run_async(client, script, keys, args)
            return await with_retry_async(lambda: run_async(client, script, keys, args),
                                          self._drop_idle)  # fmt: skip
        except Exception as exc:
            if cluster:
                self._stale = True
            await self._drop_idle()
            raise problem_of(exc, self._secrets) from None

    def _now_arg(self, now: float | None) -> bytes:
        return b"" if self.use_storage_time or now is None else repr(now).encode()

    async def acquire(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float | None,
        share: float = 1.0,
    ) -> Admission:  # fmt: skip
        plans = self.plans
        plan = plans.get(windows, blocks)
        calendar_arg = plans.calendar(plan, self.wall)
        keys, args = plan.keys_and_args(self._now_arg(now), plans.share(share), calendar_arg)
        return plan.admission(await self._call("acquire", keys, args))

    async def block(self, key: str, until: float, now: float) -> None:
        span = until - now
        if span <= 0:
            return
        name, field = block_slot(key)
        await self._call("block", [self._keys.block(name)], [self._now_arg(now), repr(span),
                                                              field])  # fmt: skip

    async def aclose(self) -> None:
        opened, self.opened = self.opened, None
        if opened is not None:
            for client in (opened.client, *opened.behind):
                await close_quietly(client)


class AsyncShared:
    """The shared store behind the limiter's fallback, awaited.

    The fallback's state (its in-process shadow, whether the store is down and until
    when) is the limiter's :class:`FallbackStore`'s, so the sync parts of the limiter
    (budget, the shadow's counts) see what the async path did.
    """

    def __init__(self, fallback: FallbackStore, primary: AsyncRedisStore) -> None:
        self.sync = fallback
        self.primary = primary

    async def acquire(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float | None,
        share: float = 1.0,
    ) -> Admission:  # fmt: skip
        sync = self.sync
        # The heartbeat thread also does what must not run on the loop: the first
        # inspection, the replay after an outage and so the way back (``asks_store``).
        sync.ensure_heartbeat()
        local_now = sync.clock.now() if now is None else now
        shared = sync.asks_store(on_loop=True)
        local = sync.admit_in_process(windows, blocks, local_now, share, shared=shared)
        if not local.admitted or not shared:
            return local
        try:
            verdict = await self.primary.acquire(windows, blocks, now, share)
        except StorageError as exc:
            return sync.admit_after_failure(windows, blocks, local_now, share, exc)
        except BaseException:
            # Cancelled mid-call: the shadow's charge goes back. Redis may have charged
            # the one call in flight, which errs on the side of sending less.
            sync.fallback.release(windows, local_now)
            raise
        sync.answered_with(windows, verdict, local_now)
        return verdict

    async def block(self, key: str, until: float, now: float) -> None:
        self.sync.fallback.block(key, until, now)
        if self.sync.use_primary():
            try:
                await self.primary.block(key, until, now)
            except StorageError as exc:
                self.sync.failed(exc)

    async def aclose(self) -> None:
        await self.primary.aclose()


def shared_store(store: Any, uri: str, key_prefix: str, margin: float,
                 use_storage_time: bool) -> AsyncStore:  # fmt: skip
    """The async face of the limiter's shared ``store`` (a FallbackStore over Redis)."""
    if not isinstance(store, FallbackStore):
        raise ConfigurationError(
            f"storage_uri={redact_uri(uri)!r} is shared but not served by the async transport"
        )
    primary = AsyncRedisStore(uri, key_prefix=key_prefix, margin=margin,
                              use_storage_time=use_storage_time,
                              wall=partial(wall_time, store.clock))  # fmt: skip
    return AsyncShared(store, primary)
