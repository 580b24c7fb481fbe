"""The aiohttp flavour of the package's errors: each is also an ``aiohttp.ClientError``.

``except tiktok_adapter.RateLimitExceeded`` catches them as it catches the requests and
httpx flavours, and code written for aiohttp catches them with ``except aiohttp.ClientError``.
"""

from __future__ import annotations

import aiohttp

from .. import exceptions


class RateLimitExceeded(exceptions.RateLimitExceeded, aiohttp.ClientError):
    """A request refused by a rate limit, ours or the server's (an ``aiohttp.ClientError``)."""


class QuotaExhausted(exceptions.QuotaExhausted, RateLimitExceeded):
    """A calendar quota is spent until it resets (an ``aiohttp.ClientError``)."""


class StorageUnavailable(exceptions.StorageUnavailable, RateLimitExceeded):
    """The shared limiter storage cannot be reached (an ``aiohttp.ClientError``)."""


# ``problem`` as this flavour's exception (the engine's ErrorFactory).
to_exception = exceptions.Flavour(RateLimitExceeded, QuotaExhausted, StorageUnavailable).of
