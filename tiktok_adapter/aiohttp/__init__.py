"""aiohttp (3.12 and later): a client middleware with the limits, rules and simulator of
the adapter, and a ``ClientSession`` built on it.

``import tiktok_adapter`` never imports aiohttp; this subpackage needs it
(``pip install 'tiktok-adapter[aiohttp]'``)::

    import aiohttp
    from tiktok_adapter.aiohttp import client_session, middleware

    async with client_session(preset="research") as session:
        ...
    limits = middleware(on_limit="raise")   # keep it for stats(), budget(), aclose()
    async with aiohttp.ClientSession(middlewares=[limits]) as session, limits:
        ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine, Mapping
from typing import Any

try:
    import aiohttp
except ImportError:  # pragma: no cover - depends on the environment
    from ..exceptions import MissingDependency

    raise MissingDependency(
        "tiktok_adapter.aiohttp needs aiohttp: pip install 'tiktok-adapter[aiohttp]'"
    ) from None

from ..settings import Settings
from ._errors import QuotaExhausted, RateLimitExceeded, StorageUnavailable
from ._middleware import TikTokMiddleware


def middleware(
    settings: Settings | None = None, *, base_url: str | None = None, **options: Any
) -> TikTokMiddleware:
    """A client middleware for ``aiohttp.ClientSession(middlewares=[...])``: requests to
    ``base_url``'s host (the preset's API root unless given) pass the limits, requests to
    any other host pass through. ``options`` are settings and the middleware's keywords
    (``clock``, hooks, ``refusal_policy``)."""
    return TikTokMiddleware(settings, base_url=base_url, **options)


class _ClosingConnector(aiohttp.TCPConnector):
    """aiohttp's default connector, which also closes the middleware that
    :func:`client_session` made: aiohttp tells no middleware that its session closed, but
    a session closes the connector it owns, and awaits that."""

    def __init__(self, limits: TikTokMiddleware, **options: Any) -> None:
        super().__init__(**options)
        self._limits = limits

    def close(self, **options: Any) -> Coroutine[Any, Any, None]:  # 3.14 takes abort_ssl
        return self._close_both(super().close(**options))

    async def _close_both(self, connections: Awaitable[None]) -> None:
        try:
            await connections
        finally:
            await self._limits.aclose()


def client_session(
    settings: Settings | None = None,
    *,
    base_url: str | None = None,
    session_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> aiohttp.ClientSession:
    """An ``aiohttp.ClientSession`` on ``base_url`` (the preset's API root unless given)
    whose requests to that host pass the limits.

    ``options`` are as for :func:`middleware`; ``session_options`` are other
    ``ClientSession`` keywords (their ``middlewares`` run before ours, so a request they
    send again is limited too). Call it inside a running event loop, as aiohttp asks.
    Closing the session closes the middleware too (on Redis, its clients, and the fleet
    hears this process left), unless ``session_options`` bring a ``connector`` of their
    own: then build the middleware yourself and close it with the session.
    """
    limits = TikTokMiddleware(settings, base_url=base_url, **options)
    kwargs = dict(session_options or {})
    kwargs["middlewares"] = (*kwargs.get("middlewares", ()), limits)
    if kwargs.get("connector") is None:
        # As aiohttp would build its own: a TCPConnector on the session's loop.
        kwargs["connector"] = _ClosingConnector(limits, loop=kwargs.get("loop"))
    return aiohttp.ClientSession(base_url=limits.base_url, **kwargs)


__all__ = [
    "QuotaExhausted",
    "RateLimitExceeded",
    "StorageUnavailable",
    "TikTokMiddleware",
    "client_session",
    "middleware",
]
