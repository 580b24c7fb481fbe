"""httpx: every Client and AsyncClient created while installed sends through the shared
limiter for the TikTok hosts, with the client's own transport underneath."""

from __future__ import annotations

from typing import Any

import httpx

from ..engine.limiter import Limiter
from ..exceptions import Flavour
from ..httpx import (
    AsyncTikTokTransport,
    QuotaExhausted,
    RateLimitExceeded,
    StorageUnavailable,
    TikTokTransport,
)
from .shared import Target, Undo, sending

to_exception = Flavour(RateLimitExceeded, QuotaExhausted, StorageUnavailable).of

# The Client keywords that configure the transport httpx would build when none is given.
_TRANSPORT_OPTIONS = ("verify", "cert", "trust_env", "http1", "http2", "limits")


class SharedTransport(TikTokTransport):
    """The recipe of :class:`TikTokTransport` on the installed limiter, for the target's
    hosts; every other request goes straight to the wrapped transport."""

    def __init__(self, target: Target, transport: httpx.BaseTransport) -> None:
        _share(self, target.limiter, transport)
        self.target = target

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.target.covers(request.url.host):
            return self.transport.handle_request(request)
        with sending(to_exception):
            return super().handle_request(request)

    def close(self) -> None:
        # Only the wrapped transport: the store is the installation's, shared by all.
        self.transport.close()


class AsyncSharedTransport(AsyncTikTokTransport):
    """:class:`SharedTransport` for ``httpx.AsyncClient``."""

    def __init__(self, target: Target, transport: httpx.AsyncBaseTransport) -> None:
        _share(self, target.limiter, transport)
        self.target = target

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.target.covers(request.url.host):
            return await self.transport.handle_async_request(request)
        with sending(to_exception):
            return await super().handle_async_request(request)


def _share(shared: TikTokTransport | AsyncTikTokTransport, limiter: Limiter,
           transport: Any) -> None:  # fmt: skip
    """Build a transport of the package around ``limiter`` instead of a new one."""
    shared.settings = limiter.settings
    shared.clock = limiter.clock
    shared.limiter = limiter
    shared.transport = transport
    shared._ready()


def patch(target: Target) -> Undo:
    sync_init = httpx.Client.__init__
    async_init = httpx.AsyncClient.__init__

    def client_init(client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        inner = kwargs.get("transport") or httpx.HTTPTransport(**_options(kwargs))
        kwargs["transport"] = SharedTransport(target, inner)
        sync_init(client, *args, **kwargs)

    def async_client_init(client: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        inner = kwargs.get("transport") or httpx.AsyncHTTPTransport(**_options(kwargs))
        kwargs["transport"] = AsyncSharedTransport(target, inner)
        async_init(client, *args, **kwargs)

    client_init.__wrapped__ = sync_init  # type: ignore[attr-defined]
    async_client_init.__wrapped__ = async_init  # type: ignore[attr-defined]
    httpx.Client.__init__ = client_init  # type: ignore[method-assign, assignment]
    httpx.AsyncClient.__init__ = async_client_init  # type: ignore[method-assign, assignment]

    def undo() -> None:
        httpx.Client.__init__ = sync_init  # type: ignore[method-assign]
        httpx.AsyncClient.__init__ = async_init  # type: ignore[method-assign]

    return undo


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The client's transport keywords, for the transport httpx would have built."""
    return {name: kwargs[name] for name in _TRANSPORT_OPTIONS if name in kwargs}
