"""TikTokMiddleware: the limits for ``aiohttp.ClientSession``, as a client middleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from ..core.clock import Clock
from ..core.decide import Problem
from ..core.events import Hook
from ..core.identity import RequestLike
from ..core.refusal import BODY_DEADLINE, Answer, RefusalPolicy
from ..core.routes import Route
from ..engine.async_recipe import AsyncRecipe
from ..engine.facade import LimiterFacade
from ..settings import Settings, check_base_url
from ._body import answer_of
from ._errors import to_exception
from ._request import CONNECTION_ERRORS, RequestView, host_of, may_resend

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..settings import SettingsKwargs

Handler = Callable[[aiohttp.ClientRequest], Any]
# A request and the handler that sends it: a middleware is given both with each call.
Sending = tuple[aiohttp.ClientRequest, Handler]


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
        given = Settings.given(type(self).__name__, settings, options, type(self).__init__)
        if base_url:  # without a scheme, or on a host other than TikTok's, nothing is limited
            check_base_url(type(self).__name__, base_url)
        self._limit(
            given, clock, errors=to_exception, refusal_policy=refusal_policy,
            random_source=random_source,
            hooks={"on_wait": on_wait, "on_rate_limited": on_rate_limited, "on_retry": on_retry},
        )  # fmt: skip
        limiter = self.limiter
        self.base_url = base_url or limiter.preset.base_url
        self.host = host_of(self.base_url)
        self.recipe: AsyncRecipe[Sending, aiohttp.ClientResponse] = AsyncRecipe(limiter, self)

    async def __call__(
        self, request: aiohttp.ClientRequest, handler: Handler
    ) -> aiohttp.ClientResponse:
        if (request.url.host or "").rstrip(".").lower() != self.host:
            return await handler(request)  # type: ignore[no-any-return]
        return await self.recipe.run((request, handler), RequestView(request), request.headers)

    # -- the recipe's I/O (engine.async_recipe.AsyncIO) -----------------------------------

    connection_errors = CONNECTION_ERRORS

    async def send(self, sending: Sending) -> aiohttp.ClientResponse:
        request, handler = sending
        return await handler(request)  # type: ignore[no-any-return]

    async def read(
        self, sending: Sending, response: aiohttp.ClientResponse
    ) -> tuple[aiohttp.ClientResponse, Answer]:
        return response, await answer_of(response, self.body_deadline)

    async def refused(
        self, response: aiohttp.ClientResponse, answer: Answer
    ) -> aiohttp.ClientResponse:
        return response  # its body, where one was read, stays readable

    async def let_go(self, response: aiohttp.ClientResponse) -> None:
        response.release()

    def may_resend(self, view: RequestLike, route: Route, exc: BaseException) -> bool:
        assert isinstance(view, RequestView)
        return may_resend(view, route, exc)

    def error(self, problem: Problem, sending: Sending,
              response: aiohttp.ClientResponse) -> BaseException:  # fmt: skip
        response.release()
        return to_exception(problem, sending[0], response)

    async def aclose(self) -> None:
        """Wait for the work after answers, then close the async Redis client (if any)."""
        await self.recipe.aclose()

    async def __aenter__(self) -> TikTokMiddleware:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()
