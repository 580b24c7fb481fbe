"""httpx: every Client and AsyncClient created while installed sends through the shared
limiter for the TikTok hosts, with the client's own transport underneath: the one it
gives as ``transport=`` (or the one httpx would build), each transport of its ``mounts=``,
and the proxy transports httpx would mount for its ``proxy=`` or, built without
``transport=``, for the environment's proxies (``trust_env``).

install() always gives httpx a ``transport=``, and httpx reads the environment's proxies
only for a client built without one: they are read here instead, by the rules of the
httpx installed, from the standard library's ``urllib.request.getproxies()``."""

from __future__ import annotations

import inspect
import ipaddress
import re
import urllib.request
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
# How the httpx installed reads a NO_PROXY entry: before 0.24.1 each as a domain; from
# 0.24.1 an IP address or localhost as itself; from 0.26 one with a scheme as a pattern.
_HTTPX = tuple(int(part) for part in re.findall(r"\d+", httpx.__version__)[:3])
_NO_PROXY_ADDRESSES = _HTTPX >= (0, 24, 1)
_NO_PROXY_PATTERNS = _HTTPX >= (0, 26)

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

    # Closed (or left by ``async with``): the wrapped transport and this client's async
    # store only. The limiter's store is the installation's, shared by all: an AsyncClient
    # closed must not take the process out of a Redis fleet.
    async def aclose(self) -> None:
        await self.transport.aclose()
        await self.recipe.aclose(limiter_store=False)

    async def __aexit__(self, *args: Any) -> None:
        await self.transport.__aexit__(*args)
        await self.recipe.aclose(limiter_store=False)


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
        proxies = _proxy_map(kwargs, has_proxy)
        inner = (kwargs.get("transport") or _app_transport(kwargs, "WSGITransport")
                 or httpx.HTTPTransport(**_options(kwargs)))  # fmt: skip
        kwargs["transport"] = SharedTransport(target, inner)
        _share_mounts(kwargs, proxies, sync_shared, httpx.HTTPTransport)
        sync_init(client, *args, **kwargs)

    def async_client_init(client: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        proxies = _proxy_map(kwargs, has_proxy)
        inner = (kwargs.get("transport") or _app_transport(kwargs, "ASGITransport")
                 or httpx.AsyncHTTPTransport(**_options(kwargs)))  # fmt: skip
        kwargs["transport"] = AsyncSharedTransport(target, inner)
        _share_mounts(kwargs, proxies, async_shared, httpx.AsyncHTTPTransport)
        async_init(client, *args, **kwargs)

    client_init.__wrapped__ = sync_init  # type: ignore[attr-defined]
    async_client_init.__wrapped__ = async_init  # type: ignore[attr-defined]
    httpx.Client.__init__ = client_init  # type: ignore[method-assign, assignment]
    httpx.AsyncClient.__init__ = async_client_init  # type: ignore[method-assign, assignment]

    def undo() -> None:
        httpx.Client.__init__ = sync_init  # type: ignore[method-assign]
        httpx.AsyncClient.__init__ = async_init  # type: ignore[method-assign]

    return undo


def _app_transport(kwargs: dict[str, Any], kind: str) -> Any:
    """The transport httpx before 0.28 builds for a client's ``app=`` (a WSGI or ASGI app
    served in process), or None: given a transport, httpx would ignore the app."""
    app = kwargs.get("app")
    return None if app is None else getattr(httpx, kind)(app=app)


def _proxy_map(kwargs: dict[str, Any], has_proxy: bool) -> dict[str, httpx.Proxy | None]:
    """The proxies httpx would mount for these keywords, by pattern (None: no proxy).

    ``proxy=`` (httpx 0.26+): its proxy on ``"all://"``, and httpx gets ``proxy=None``
    instead, as the transport is mounted here. Without it (and without ``proxies=`` or
    ``app=``, httpx < 0.28), with ``trust_env`` and no ``transport=``: the environment's."""
    proxy = kwargs.get("proxy") if has_proxy else None
    if proxy is not None:
        kwargs["proxy"] = None
        return {_EVERY_URL: proxy if isinstance(proxy, httpx.Proxy) else httpx.Proxy(proxy)}
    if (
        kwargs.get("trust_env", True)
        and kwargs.get("transport") is None
        and kwargs.get("app") is None
        and not kwargs.get("proxies")
    ):
        return {
            key: None if url is None else httpx.Proxy(url)
            for key, url in _environment_proxies().items()
        }
    return {}


def _environment_proxies() -> dict[str, str | None]:
    """The proxy map httpx reads from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY;
    NO_PROXY as patterns of no proxy), by its rules (``get_environment_proxies``)."""
    found = urllib.request.getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for host in (name.strip() for name in found.get("no", "").split(",")):
        if host == "*":  # no proxy for any host
            return {}
        if not host:
            continue
        if "://" in host and _NO_PROXY_PATTERNS:
            mounts[host] = None
        elif not _NO_PROXY_ADDRESSES:
            mounts[f"all://*{host}"] = None
        elif _is_address(host, ipaddress.IPv4Address) or host.lower() == "localhost":
            mounts[f"all://{host}"] = None
        elif _is_address(host, ipaddress.IPv6Address):
            mounts[f"all://[{host}]"] = None
        else:  # example.com: it and its subdomains; .example.com: its subdomains
            mounts[f"all://*{host}"] = None
    return mounts


def _is_address(host: str, kind: Callable[[str], object]) -> bool:
    try:
        kind(host.split("/")[0])  # 192.168.0.0/16: its address part, as httpx reads it
    except ValueError:
        return False
    return True


def _share_mounts(kwargs: dict[str, Any], proxies: Mapping[str, httpx.Proxy | None],
                  shared: Callable[[_T], _T], proxied: Callable[..., _T]) -> None:  # fmt: skip
    """Put the shared limiter over every transport the client would mount.

    ``proxies`` (:func:`_proxy_map`): httpx would build ``HTTPTransport(proxy=...)`` with
    the client's transport options for each, mount them first, then the client's own
    ``mounts=`` over them (one on the same pattern replaces the proxy's). They are built
    here the same way, wrapped, and given to httpx as ``mounts=`` under the client's own:
    the same mounts, routing as they would. ``mounts=``: each transport is wrapped; None
    keeps its meaning (the client's ``transport=``, as for a NO_PROXY host)."""
    given: Mapping[str, _T | None] = kwargs.get("mounts") or {}
    mounts: dict[str, _T | None] = {
        key: None if proxy is None else shared(proxied(proxy=proxy, **_options(kwargs)))
        for key, proxy in proxies.items()
        if key not in given
    }
    mounts.update({key: None if t is None else shared(t) for key, t in given.items()})
    if mounts:
        kwargs["mounts"] = mounts


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The client's transport keywords, for the transport httpx would have built."""
    return {name: kwargs[name] for name in _TRANSPORT_OPTIONS if name in kwargs}
