"""AsyncTikTokTransport: the same limits for ``httpx.AsyncClient``, never blocking the loop."""

from __future__ import annotations

from typing import Any

import httpx

from ..core.decide import Attempt, Raise, Return
from ..core.refusal import BODY_DEADLINE, Answer, Refusal
from ..core.routes import Route
from ..engine.async_effects import AsyncEffects
from ..engine.awaiting import AsyncAdmitter, asleep
from ..engine.limiter import replayable
from ..storage import is_shared, open_async_store
from ._base import LimitedTransport
from ._body import aread_declared, aread_raw, refused
from ._common import CONNECTION_ERRORS, Read, RequestView, may_resend, reading
from ._errors import to_exception


class AsyncTikTokTransport(LimitedTransport[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport):
    """Wraps an async httpx transport (``httpx.AsyncHTTPTransport()`` unless given).

    The recipe of :class:`~tiktok_adapter.httpx.TikTokTransport`, awaited: a waiting
    task sleeps with ``asyncio.sleep`` and queues by priority among tasks. On Redis
    (one server, Sentinel or Cluster) it counts through ``redis.asyncio`` with the sync
    store's scripts and keys, so sync and async workers share one quota. One transport
    serves one event loop.
    """

    # Seconds a body read for the transport's own purposes (a 429's, a small JSON 200's)
    # may take in all, however slowly it comes.
    body_deadline: float = BODY_DEADLINE

    def _ready(self) -> None:
        limiter = self.limiter
        s = self.settings
        shared = is_shared(s.storage_uri)
        astore = open_async_store(limiter.store, s.storage_uri, key_prefix=s.key_prefix,
                                  margin=s.safety_margin, use_storage_time=s.storage_time,
                                  clock=self.clock)  # fmt: skip
        self.astore = astore
        self.admitter = AsyncAdmitter(limiter.steps, astore)
        self.effects = AsyncEffects(astore, off_loop=shared)
        # Learned limits on a shared store are first read at the first request, before
        # any is applied: in a thread, as the learner's later reads are.
        self._learned_read = not (shared and limiter.learner.policy.enabled)

    def default_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limiter = self.limiter
        view = RequestView.of(request)
        route = limiter.resolve(view.url)
        attempt = limiter.start(route, limiter.priority_of(request.headers))
        if not self._learned_read:
            await self.effects.in_thread(limiter.learner.values)
            self._learned_read = True
        while True:
            windows, queue = limiter.routes.windows_for(route, view)
            await self.admitter.admit_async(view, route, attempt, windows, queue)
            if route.cost_windows:  # Research queries: refund what does not come back
                limiter.reserve(route, windows)
            try:
                response = await self.transport.handle_async_request(request)
            except CONNECTION_ERRORS as exc:
                seconds, attempt, effects = limiter.after_error(
                    route, attempt, may_resend(view, route, exc), type(exc).__name__
                )
                await self.effects.apply(effects)  # a late call's entries move first
                if seconds is None:
                    raise
                await asleep(self.clock, seconds)
                continue
            response, refusal = await self._observe(request, route, response, attempt)
            if refusal is None:
                return response
            decision, attempt = limiter.after_refusal(route, attempt, refusal,
                                                      replayable(view.body))  # fmt: skip
            if isinstance(decision, Raise):
                assert decision.problem is not None
                raise to_exception(decision.problem, request, response)
            if isinstance(decision, Return):
                return response
            await response.aclose()  # and send again: the admission waits out the block

    async def _observe(
        self, request: httpx.Request, route: Route, response: httpx.Response, attempt: Attempt
    ) -> tuple[httpx.Response, Refusal | None]:
        """A 429's body is read up to the cap; a 200's only when it is small JSON."""
        headers, seen, read = reading(request, response)
        if read is Read.CAPPED:
            raw, complete = await aread_raw(response, self.body_deadline)
            response, body = refused(response, raw, complete)
            seen = Answer(response.status_code, headers, body)
        elif read is Read.WHOLE:
            response, body = await aread_declared(response, self.body_deadline)
            seen = Answer(response.status_code, headers, body)
        assert seen is not None
        outcome = self.limiter.observe(route, seen, attempt)
        refusal = outcome.refusal
        if refusal is not None and read is Read.WHOLE and seen.body is not None:
            await response.aread()  # an error may carry it: read, as it decodes within the cap
        if outcome.effects:  # most answers call for none
            await self.effects.apply(outcome.effects)
        return response, refusal

    async def aclose(self) -> None:
        """Close the wrapped transport and the async Redis client; the windows stay."""
        await self.transport.aclose()
        await self.effects.settled()
        await self.astore.aclose()

    async def __aenter__(self) -> AsyncTikTokTransport:
        await self.transport.__aenter__()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.transport.__aexit__(*args)
        await self.effects.settled()
        await self.astore.aclose()
