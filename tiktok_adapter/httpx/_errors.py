"""The httpx flavour of the package's errors: each is also an ``httpx.HTTPError``.

``except tiktok_adapter.RateLimitExceeded`` catches them as it catches the requests
and aiohttp flavours, and code written for httpx catches them with ``except
httpx.HTTPError``.
"""

from __future__ import annotations

from typing import Any

import httpx

from .. import exceptions
from ..core.decide import Cause, Problem, utc


class RateLimitExceeded(exceptions.RateLimitExceeded, httpx.HTTPError):
    """A request refused by a rate limit, ours or the server's (an ``httpx.HTTPError``)."""


class QuotaExhausted(exceptions.QuotaExhausted, RateLimitExceeded):
    """A calendar quota is spent until it resets (an ``httpx.HTTPError``)."""


class StorageUnavailable(exceptions.StorageUnavailable, RateLimitExceeded):
    """The shared limiter storage cannot be reached (an ``httpx.HTTPError``)."""


_CLASSES: dict[Cause, type[RateLimitExceeded]] = {
    Cause.QUOTA: QuotaExhausted,
    Cause.STORAGE: StorageUnavailable,
}


def to_exception(problem: Problem, request: Any, response: Any = None) -> RateLimitExceeded:
    """``problem`` as the httpx flavour of :class:`tiktok_adapter.RateLimitExceeded`.

    ``request`` is the ``httpx.Request`` (the admission loop hands over the request it
    was given, which for the transports is always the httpx one).
    """
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
