"""httpx: every Client and AsyncClient created while installed sends through the shared
limiter for the TikTok hosts, with the client's own transport underneath: the one it
gives as ``transport=`` (or the one httpx would build), each transport of its ``mounts=``,
and the proxy transport httpx would mount for its ``proxy=``.

Environment proxies (``trust_env``) are not reproduced: httpx reads them only for a client
built without ``transport=``, through private helpers, and install() always gives one."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

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
# The pattern httpx mounts a client's proxy= transport on: every URL.
_EVERY_URL = "all://"

_T = TypeVar("_T")


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
    # proxy= came in httpx 0.26; before it, a client given proxy= fails in httpx as it did.
    has_proxy = "proxy" in inspect.signature(sync_init).parameters

    def sync_shared(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        return SharedTransport(target, inner)

    def async_shared(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return AsyncSharedTransport(target, inner)

    def client_init(client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        inner = kwargs.get("transport") or httpx.HTTPTransport(**_options(kwargs))
        kwargs["transport"] = SharedTransport(target, inner)
        _share_mounts(kwargs, sync_shared, httpx.HTTPTransport, has_proxy)
        sync_init(client, *args, **kwargs)

    def async_client_init(client: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        inner = kwargs.get("transport") or httpx.AsyncHTTPTransport(**_options(kwargs))
        kwargs["transport"] = AsyncSharedTransport(target, inner)
        _share_mounts(kwargs, async_shared, httpx.AsyncHTTPTransport, has_proxy)
        async_init(client, *args, **kwargs)

    client_init.__wrapped__ = sync_init  # type: ignore[attr-defined]
    async_client_init.__wrapped__ = async_init  # type: ignore[attr-defined]
    httpx.Client.__init__ = client_init  # type: ignore[method-assign, assignment]
    httpx.AsyncClient.__init__ = async_client_init  # type: ignore[method-assign, assignment]

    def undo() -> None:
        httpx.Client.__init__ = sync_init  # type: ignore[method-assign]
        httpx.AsyncClient.__init__ = async_init  # type: ignore[method-assign]

    return undo


def _share_mounts(kwargs: dict[str, Any], shared: Callable[[_T], _T],
                  proxied: Callable[..., _T], has_proxy: bool) -> None:  # fmt: skip
    """Put the shared limiter over every transport the client would mount.

    ``mounts=``: each transport is wrapped; None keeps its meaning (the client's
    ``transport=``). ``proxy=``: httpx would build ``HTTPTransport(proxy=...)`` with the
    client's transport options and mount it on ``"all://"`` before the client's own mounts
    (one on the same pattern replaces it). It is built here the same way, wrapped, and
    mounted there, and httpx gets ``proxy=None``: the same mounts, routing as they would.
    Given ``proxy=``, httpx reads no environment proxies either, so none are lost."""
    given: Mapping[str, _T | None] = kwargs.get("mounts") or {}
    mounts: dict[str, _T | None] = {}
    proxy = kwargs.get("proxy") if has_proxy else None
    if proxy is not None:
        kwargs["proxy"] = None
        if _EVERY_URL not in given:
            if isinstance(proxy, (str, httpx.URL)):
                proxy = httpx.Proxy(url=proxy)
            mounts[_EVERY_URL] = shared(proxied(proxy=proxy, **_options(kwargs)))
    mounts.update({key: None if t is None else shared(t) for key, t in given.items()})
    if mounts:
        kwargs["mounts"] = mounts


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The client's transport keywords, for the transport httpx would have built."""
    return {name: kwargs[name] for name in _TRANSPORT_OPTIONS if name in kwargs}
