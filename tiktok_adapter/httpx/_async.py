"""AsyncTikTokTransport: the same limits for ``httpx.AsyncClient``, never blocking the loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from ..core.clock import Clock
from ..core.decide import Attempt, Raise, Return, Wait
from ..core.events import Hook
from ..core.refusal import Answer, Refusal, RefusalPolicy
from ..core.routes import Route
from ..core.stats import Counter
from ..core.windows import StorageError
from ..engine.limiter import Limiter, replayable
from ..settings import Settings
from ..storage import is_shared
from ._async_admission import AsyncAdmitter, AsyncStore, InProcess
from ._async_redis import shared_store
from ._base import LimitedTransport
from ._common import (
    CONNECTION_ERRORS,
    LowerHeaders,
    RequestView,
    answer,
    aread_raw,
    asleep,
    may_resend,
    read_already,
    rebuilt,
    wants_body,
)
from ._errors import to_exception

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..settings import SettingsKwargs

logger = logging.getLogger("tiktok_adapter")


class AsyncLimiter(Limiter):
    """A limiter whose blocks on a shared store are written by the transport, awaited.

    ``observe`` decides the block; writing it to Redis is I/O, which must not block the
    event loop, so it is kept in ``pending`` for the task that observed (nothing is
    awaited in between, so the list holds only that task's blocks).
    """

    defer_blocks = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: list[tuple[str, float, float]] = []

    def _block(self, route: Route, until: float, now: float, *, quota: bool = False) -> None:
        if not self.defer_blocks:
            super()._block(route, until, now, quota=quota)
            return
        self.pending.append((route.blocks[1 if quota else 0], until, now))


class AsyncTikTokTransport(LimitedTransport, httpx.AsyncBaseTransport):
    """Wraps an async httpx transport (``httpx.AsyncHTTPTransport()`` unless given).

    The recipe of :class:`~tiktok_adapter.httpx.TikTokTransport`, awaited: a waiting
    task sleeps with ``asyncio.sleep`` and queues by priority among tasks. On Redis
    (``redis://`` or ``rediss://``) it counts through ``redis.asyncio`` with the sync
    store's scripts and keys, so sync and async workers share one quota. One transport
    serves one event loop.
    """

    limiter_class = AsyncLimiter

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        refusal_policy: RefusalPolicy | None = None,
        on_wait: Hook | None = None,
        on_rate_limited: Hook | None = None,
        on_retry: Hook | None = None,
        random_source: Callable[[], float] | None = None,
        **options: Unpack[SettingsKwargs],
    ) -> None:
        self._setup(
            settings, dict(options), clock=clock, refusal_policy=refusal_policy,
            random_source=random_source,
            hooks={"on_wait": on_wait, "on_rate_limited": on_rate_limited, "on_retry": on_retry},
        )  # fmt: skip
        self.transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        limiter = self.limiter
        assert isinstance(limiter, AsyncLimiter)
        s = self.settings
        astore: AsyncStore
        if is_shared(s.storage_uri):
            astore = shared_store(limiter.store, s.storage_uri, s.key_prefix,
                                  s.safety_margin, s.storage_time)  # fmt: skip
            limiter.defer_blocks = True
        else:
            astore = InProcess(limiter.store)
        self.astore = astore
        self.admitter = AsyncAdmitter(limiter, astore)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limiter = self.limiter
        view = RequestView.of(request)
        route = limiter.resolve(view.url)
        attempt = limiter.start(route, limiter.priority_of(request.headers))
        while True:
            windows, queue = limiter.routes.windows_for(route, view)
            await self.admitter.admit_async(view, route, attempt, windows, queue)
            try:
                response = await self.transport.handle_async_request(request)
            except CONNECTION_ERRORS as exc:
                decision, attempt = limiter.rules.connection_error(
                    attempt, may_resend(view, route, exc), limiter.rand(), self.clock.now()
                )
                if not isinstance(decision, Wait):
                    raise
                await self._retrying(route, attempt, decision.seconds, type(exc).__name__)
                continue
            response, refusal = await self._observe(request, route, response, attempt)
            if refusal is None:
                return response
            decision, attempt = limiter.rules.refusal(
                attempt, refusal, replayable(view.body), self.clock.now()
            )
            if isinstance(decision, Raise):
                limiter.count(route, Counter.REFUSALS)
                assert decision.problem is not None
                raise to_exception(decision.problem, request, response)
            if isinstance(decision, Return):
                return response
            await response.aclose()
            await self._retrying(route, attempt, 0.0, refusal.code)

    async def _observe(
        self, request: httpx.Request, route: Route, response: httpx.Response, attempt: Attempt
    ) -> tuple[httpx.Response, Refusal | None]:
        """A 429's body is read up to the cap; a 200's only when it is small JSON."""
        status, headers = response.status_code, LowerHeaders.of(response.headers)
        judged = status == 429 or wants_body(request, status, headers)
        # An inner transport may have read the body already (MockTransport reads all).
        seen = read_already(response, headers) if judged else None
        if seen is not None or not judged:
            seen = seen or Answer(status, headers, None)
        elif status == 429:  # of any length: read no more than the cap
            raw, complete = await aread_raw(response)
            response = rebuilt(response, raw, complete)
            seen = answer(response, headers, raw, complete)
        else:  # a 200 whose declared length (which h11 and h2 enforce) is within the cap
            await response.aread()
            seen = Answer(status, headers, response.content)
        limiter = self.limiter
        assert isinstance(limiter, AsyncLimiter)
        refusal = limiter.observe(route, seen, attempt)
        pending, limiter.pending = limiter.pending, []
        for key, until, now in pending:
            try:
                await self.astore.block(key, until, now)
            except StorageError as exc:  # the in-process copy still holds this process
                logger.warning("could not share the block of %s: %s", route.name, exc)
        return response, refusal

    async def _retrying(self, route: Route, attempt: Attempt, seconds: float, why: str) -> None:
        self.limiter.retrying(route, attempt, seconds, why)
        if seconds > 0:
            await asleep(self.clock, seconds)

    async def aclose(self) -> None:
        """Close the wrapped transport and the async Redis client; the windows stay."""
        await self.transport.aclose()
        await self.astore.aclose()

    async def __aenter__(self) -> AsyncTikTokTransport:
        await self.transport.__aenter__()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.transport.__aexit__(*args)
        await self.astore.aclose()
