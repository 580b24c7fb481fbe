"""AsyncTikTokTransport: the same limits for ``httpx.AsyncClient``, never blocking the loop."""

from __future__ import annotations

from typing import Any

import httpx

from ..core.decide import Problem
from ..core.identity import RequestLike
from ..core.refusal import BODY_DEADLINE, Answer
from ..core.routes import Route
from ..engine.async_recipe import AsyncRecipe
from ._base import LimitedTransport
from ._body import aread_declared, aread_for_error, aread_raw
from ._body import refused as with_body
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

    # What httpx raises when a request may or may not have reached the server.
    connection_errors = CONNECTION_ERRORS

    def _ready(self) -> None:
        self.recipe: AsyncRecipe[httpx.Request, httpx.Response] = AsyncRecipe(self.limiter, self)

    def default_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.recipe.run(request, RequestView.of(request), request.headers)

    # -- the recipe's I/O (engine.async_recipe.AsyncIO) -----------------------------------

    async def send(self, request: httpx.Request) -> httpx.Response:
        return await self.transport.handle_async_request(request)

    async def read(
        self, request: httpx.Request, response: httpx.Response
    ) -> tuple[httpx.Response, Answer]:
        """A 429's body is read up to the cap; a 200's only when it is small JSON."""
        headers, seen, mode = reading(request, response)
        if mode is Read.CAPPED:
            raw, complete = await aread_raw(response, self.body_deadline)
            response, body = with_body(response, raw, complete)
            seen = Answer(response.status_code, headers, body)
        elif mode is Read.WHOLE:
            response, body = await aread_declared(response, self.body_deadline)
            seen = Answer(response.status_code, headers, body)
        assert seen is not None
        return response, seen

    async def refused(self, response: httpx.Response, answer: Answer) -> httpx.Response:
        # A refused 200 was handed on unread (a 429 comes back read): an error may carry
        # it, so it is read now; one httpx cannot decode goes on unread.
        if answer.status == 429 or answer.body is None:
            return response
        return await aread_for_error(response)

    async def let_go(self, response: httpx.Response) -> None:
        await response.aclose()

    def may_resend(self, view: RequestLike, route: Route, exc: BaseException) -> bool:
        assert isinstance(view, RequestView)
        return may_resend(view, route, exc)  # type: ignore[arg-type]

    def error(self, problem: Problem, request: httpx.Request,
              response: httpx.Response) -> BaseException:  # fmt: skip
        return to_exception(problem, request, response)

    async def aclose(self) -> None:
        """Close the wrapped transport and the async Redis client; the windows stay."""
        await self.transport.aclose()
        await self.recipe.aclose()

    async def __aenter__(self) -> AsyncTikTokTransport:
        await self.transport.__aenter__()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.transport.__aexit__(*args)
        await self.recipe.aclose()
