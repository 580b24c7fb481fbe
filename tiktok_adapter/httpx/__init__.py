"""httpx transports, sync and async, with the limits, rules and simulator of the adapter.

``import tiktok_adapter`` never imports httpx; this subpackage needs it
(``pip install 'tiktok-adapter[httpx]'``)::

    import httpx
    from tiktok_adapter.httpx import TikTokTransport, AsyncTikTokTransport

    client = httpx.Client(transport=TikTokTransport(preset="research"))
    async_client = httpx.AsyncClient(transport=AsyncTikTokTransport(on_limit="raise"))
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

try:
    import httpx
except ImportError:  # pragma: no cover - depends on the environment
    from ..exceptions import MissingDependency

    raise MissingDependency(
        "tiktok_adapter.httpx needs httpx: pip install 'tiktok-adapter[httpx]'"
    ) from None

from ..settings import Settings
from ._async import AsyncTikTokTransport
from ._common import STREAM
from ._errors import QuotaExhausted, RateLimitExceeded, StorageUnavailable
from ._sync import TikTokTransport

# The transport of each client made here: httpx names a client's transport only in a
# private attribute, so it is remembered when the client is made.
_MADE: weakref.WeakKeyDictionary[
    httpx.Client | httpx.AsyncClient, TikTokTransport | AsyncTikTokTransport
] = weakref.WeakKeyDictionary()


def client(
    settings: Settings | None = None,
    *,
    base_url: str | None = None,
    client_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> httpx.Client:
    """An ``httpx.Client`` whose every request passes the limits (a :class:`TikTokTransport`).

    ``base_url`` is the client's (the preset's API root unless given); ``options`` are
    the transport's keywords and settings, ``client_options`` other ``httpx.Client``
    keywords. :func:`transport_of` gives the transport back, for its stats and budget.
    """
    transport = TikTokTransport(settings, **options)
    root = base_url or transport.limiter.preset.base_url
    made = httpx.Client(base_url=root, transport=transport, **dict(client_options or {}))
    _MADE[made] = transport
    return made


def async_client(
    settings: Settings | None = None,
    *,
    base_url: str | None = None,
    client_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> httpx.AsyncClient:
    """:func:`client` for asyncio: an ``httpx.AsyncClient`` on an :class:`AsyncTikTokTransport`."""
    transport = AsyncTikTokTransport(settings, **options)
    root = base_url or transport.limiter.preset.base_url
    made = httpx.AsyncClient(base_url=root, transport=transport, **dict(client_options or {}))
    _MADE[made] = transport
    return made


def transport_of(
    http_client: httpx.Client | httpx.AsyncClient,
) -> TikTokTransport | AsyncTikTokTransport:
    """The limiting transport of a client made by :func:`client` or :func:`async_client`."""
    found = _MADE.get(http_client)
    if found is None:
        raise TypeError(f"{http_client!r} was not made by tiktok_adapter.httpx.client()")
    return found


__all__ = [
    "STREAM",
    "AsyncTikTokTransport",
    "QuotaExhausted",
    "RateLimitExceeded",
    "StorageUnavailable",
    "TikTokTransport",
    "async_client",
    "client",
    "transport_of",
]
