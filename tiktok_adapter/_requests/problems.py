"""The requests flavour of the package's errors: each is also a ``requests.RequestException``.

``except tiktok_adapter.RateLimitExceeded`` catches them as it catches the httpx and
aiohttp flavours, and code written for requests catches them with ``except
requests.RequestException``.
"""

from __future__ import annotations

import requests

from .. import exceptions


class RateLimitExceeded(exceptions.RateLimitExceeded, requests.RequestException):
    """A request refused by a rate limit, ours or the server's (a ``RequestException``)."""


class QuotaExhausted(exceptions.QuotaExhausted, RateLimitExceeded):
    """A calendar quota is spent until it resets (a ``requests.RequestException``)."""


class StorageUnavailable(exceptions.StorageUnavailable, RateLimitExceeded):
    """The shared limiter storage cannot be reached (a ``requests.RequestException``)."""


# ``problem`` as this flavour's exception (the engine's ErrorFactory).
to_exception = exceptions.Flavour(RateLimitExceeded, QuotaExhausted, StorageUnavailable).of
