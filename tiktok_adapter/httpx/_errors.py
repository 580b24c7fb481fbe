"""The httpx flavour of the package's errors: each is also an ``httpx.HTTPError``.

``except tiktok_adapter.RateLimitExceeded`` catches them as it catches the requests
and aiohttp flavours, and code written for httpx catches them with ``except
httpx.HTTPError``.
"""

from __future__ import annotations

import httpx

from .. import exceptions


class RateLimitExceeded(exceptions.RateLimitExceeded, httpx.HTTPError):
    """A request refused by a rate limit, ours or the server's (an ``httpx.HTTPError``)."""


class QuotaExhausted(exceptions.QuotaExhausted, RateLimitExceeded):
    """A calendar quota is spent until it resets (an ``httpx.HTTPError``)."""


class StorageUnavailable(exceptions.StorageUnavailable, RateLimitExceeded):
    """The shared limiter storage cannot be reached (an ``httpx.HTTPError``)."""


# ``problem`` as this flavour's exception (the engine's ErrorFactory).
to_exception = exceptions.Flavour(RateLimitExceeded, QuotaExhausted, StorageUnavailable).of
