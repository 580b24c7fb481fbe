"""aiohttp (3.12 and later): every ClientSession created while installed runs a
middleware on the shared limiter, after the session's own middlewares, and closing the
session closes what they opened (aiohttp tells no middleware that its session closed)."""

from __future__ import annotations

import inspect
import weakref
from typing import Any

import aiohttp

from ..aiohttp import QuotaExhausted, RateLimitExceeded, StorageUnavailable, TikTokMiddleware
from ..engine.async_recipe import AsyncRecipe
from ..exceptions import Flavour
from .shared import Target, Undo, sending

to_exception = Flavour(RateLimitExceeded, QuotaExhausted, StorageUnavailable).of


class SharedMiddleware(TikTokMiddleware):
    """:class:`TikTokMiddleware`'s recipe on the installed limiter, for one of its hosts."""

    def __init__(self, target: Target, host: str) -> None:
        limiter = self.limiter = target.limiter
        self.settings = limiter.settings
        self.clock = limiter.clock
        self.base_url = f"https://{host}/"
        self.host = host
        self.recipe = AsyncRecipe(limiter, self)

    async def __call__(self, request: aiohttp.ClientRequest, handler: Any) -> Any:
        with sending(to_exception):
            return await super().__call__(request, handler)


def patch(target: Target) -> Undo:
    original = aiohttp.ClientSession.__init__
    original_close = aiohttp.ClientSession.close
    if "middlewares" not in inspect.signature(original).parameters:
        return lambda: None  # before 3.12 aiohttp has no client middleware: skipped
    # Each session's own middlewares: their async stores (a Redis client on Redis) close
    # with the session, not when the garbage collector finds them with open connections.
    owned: weakref.WeakKeyDictionary[aiohttp.ClientSession, tuple[SharedMiddleware, ...]]
    owned = weakref.WeakKeyDictionary()

    def __init__(session: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        theirs = tuple(kwargs.get("middlewares") or ())
        # One per host: the middleware compares one host; all share the limiter.
        ours = tuple(SharedMiddleware(target, host) for host in sorted(target.hosts))
        kwargs["middlewares"] = (*theirs, *ours)
        original(session, *args, **kwargs)
        owned[session] = ours

    async def close(session: aiohttp.ClientSession) -> None:
        try:
            await original_close(session)
        finally:
            for middleware in owned.pop(session, ()):
                # The limiter's own store is install()'s: it stays open for the others.
                await middleware.recipe.aclose(limiter_store=False)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    close.__wrapped__ = original_close  # type: ignore[attr-defined]
    aiohttp.ClientSession.__init__ = __init__  # type: ignore[method-assign, assignment]
    aiohttp.ClientSession.close = close  # type: ignore[method-assign, assignment]

    def undo() -> None:
        aiohttp.ClientSession.__init__ = original  # type: ignore[method-assign]
        aiohttp.ClientSession.close = original_close  # type: ignore[method-assign]

    return undo
