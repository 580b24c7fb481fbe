"""The aiohttp flavour of the package's errors: each is also an ``aiohttp.ClientError``.

``except tiktok_adapter.RateLimitExceeded`` catches them as it catches the requests and
httpx flavours, and code written for aiohttp catches them with ``except aiohttp.ClientError``.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from .. import exceptions
from ..core.decide import Cause, Problem, utc


class RateLimitExceeded(exceptions.RateLimitExceeded, aiohttp.ClientError):
    """A request refused by a rate limit, ours or the server's (an ``aiohttp.ClientError``)."""


class QuotaExhausted(exceptions.QuotaExhausted, RateLimitExceeded):
    """A calendar quota is spent until it resets (an ``aiohttp.ClientError``)."""


class StorageUnavailable(exceptions.StorageUnavailable, RateLimitExceeded):
    """The shared limiter storage cannot be reached (an ``aiohttp.ClientError``)."""


_CLASSES: dict[Cause, type[RateLimitExceeded]] = {
    Cause.QUOTA: QuotaExhausted,
    Cause.STORAGE: StorageUnavailable,
}


def to_exception(problem: Problem, request: Any, response: Any = None) -> RateLimitExceeded:
    """``problem`` as the aiohttp flavour of :class:`tiktok_adapter.RateLimitExceeded`, with
    the ``aiohttp.ClientRequest`` and, for a server's refusal, the ``ClientResponse``."""
    cls = _CLASSES.get(problem.cause, RateLimitExceeded)
    return cls(
        problem.message,
        retry_after=problem.retry_after,
        endpoint=problem.endpoint,
        limit=problem.limit,
        request=getattr(request, "original", request),
        response=response,
        reset_at=utc(problem.reset_at),
    )
