"""TikTokMiddleware: the limits for ``aiohttp.ClientSession``, as a client middleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.decide import Raise, Return
from ..core.events import Hook, Hooks
from ..core.refusal import BODY_DEADLINE, Answer, RefusalPolicy
from ..engine.async_effects import AsyncEffects
from ..engine.awaiting import AsyncAdmitter, asleep
from ..engine.facade import LimiterFacade
from ..engine.limiter import Limiter, replayable
from ..settings import Settings, check_base_url
from ..storage import is_shared, open_async_store
from ._body import read_refusal, read_small, wants_body
from ._errors import to_exception
from ._request import CONNECTION_ERRORS, RequestView, host_of, may_resend

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..settings import SettingsKwargs

Handler = Callable[[aiohttp.ClientRequest], Any]


class TikTokMiddleware(LimiterFacade):
    """An aiohttp (3.12+) client middleware that keeps requests to ``base_url``'s host
    (the preset's API root unless given) within the limits; other hosts pass through.

    The recipe of the httpx async transport: a waiting task sleeps with ``asyncio.sleep``
    and queues by priority; a refusal blocks the endpoint, and a request is sent again
    (``handler(request)`` once more) only when that is safe. One middleware serves one
    event loop; ``aclose()`` (or ``async with``) closes its async Redis client.
    """

    # Seconds a 429's body read may take in all, however slowly it comes.
    body_deadline: float = BODY_DEADLINE

    def __init__(
        self, settings: Settings | None = None, *, base_url: str | None = None,
        clock: Clock | None = None, refusal_policy: RefusalPolicy | None = None,
        on_wait: Hook | None = None, on_rate_limited: Hook | None = None,
        on_retry: Hook | None = None, random_source: Callable[[], float] | None = None,
        **options: Unpack[SettingsKwargs],
    ) -> None:  # fmt: skip
        s = self.settings = Settings.given(type(self).__name__, settings, options,
                                           type(self).__init__)  # fmt: skip
        if base_url:  # without a scheme, or on a host other than TikTok's, nothing is limited
            check_base_url(type(self).__name__, base_url)
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        limiter = self.limiter = Limiter(
            s, self.clock, errors=to_exception, refusal_policy=refusal_policy, hooks=Hooks(),
            random_source=random_source,
        )  # fmt: skip
        for name, hook in (("on_wait", on_wait), ("on_rate_limited", on_rate_limited),
                           ("on_retry", on_retry)):  # fmt: skip
            if hook is not None:
                limiter.hooks.add(name, hook)
        self.base_url = base_url or limiter.preset.base_url
        self.host = host_of(self.base_url)
        shared = is_shared(s.storage_uri)
        self.astore = open_async_store(limiter.store, s.storage_uri, key_prefix=s.key_prefix,
                                       margin=s.safety_margin, use_storage_time=s.storage_time,
                                       clock=self.clock)  # fmt: skip
        self.admitter = AsyncAdmitter(limiter.steps, self.astore)
        self.effects = AsyncEffects(self.astore, off_loop=shared)
        self._learned_read = not (shared and limiter.learner.policy.enabled)

    async def __call__(
        self, request: aiohttp.ClientRequest, handler: Handler
    ) -> aiohttp.ClientResponse:
        if (request.url.host or "").rstrip(".").lower() != self.host:
            return await handler(request)  # type: ignore[no-any-return]
        limiter = self.limiter
        view = RequestView(request)
        route = limiter.resolve(view.url)
        attempt = limiter.start(route, limiter.priority_of(request.headers))
        if not self._learned_read:
            await self.effects.in_thread(limiter.learner.values)
            self._learned_read = True
        while True:
            windows, queue = limiter.routes.windows_for(route, view)
            await self.admitter.admit_async(view, route, attempt, windows, queue)
            limiter.reserve(route, windows)  # Research records: refund what does not come
            try:
                response: aiohttp.ClientResponse = await handler(request)
            except CONNECTION_ERRORS as exc:
                seconds, attempt, effects = limiter.after_error(
                    route, attempt, may_resend(view, route, exc), type(exc).__name__
                )
                await self.effects.apply(effects)  # a late call's entries move first
                if seconds is None:
                    raise
                await asleep(self.clock, seconds)
                continue
            status = response.status
            body = None
            if status == 429:
                body = await read_refusal(response, self.body_deadline)
            elif wants_body(response):
                body = await read_small(response)
            outcome = limiter.observe(route, Answer(status, response.headers, body), attempt)
            if outcome.effects:  # most answers call for none
                await self.effects.apply(outcome.effects)
            refusal = outcome.refusal
            if refusal is None:
                return response
            decision, attempt = limiter.after_refusal(route, attempt, refusal,
                                                      replayable(view.body))  # fmt: skip
            if isinstance(decision, Raise):
                assert decision.problem is not None
                response.release()
                raise to_exception(decision.problem, request, response)
            if isinstance(decision, Return):
                return response
            response.release()  # and send again: the admission waits out the block

    async def aclose(self) -> None:
        """Wait for the work after answers, then close the async Redis client (if any)."""
        await self.effects.settled()
        await self.astore.aclose()

    async def __aenter__(self) -> TikTokMiddleware:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()
