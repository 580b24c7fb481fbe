"""The requests flavour of the package's errors: each is also a ``requests.RequestException``.

``except tiktok_adapter.RateLimitExceeded`` catches them as it catches the httpx and
aiohttp flavours, and code written for requests catches them with ``except
requests.RequestException``.
"""

from __future__ import annotations

from typing import Any

import requests

from .. import exceptions
from ..core.decide import Cause, Problem, utc


class RateLimitExceeded(exceptions.RateLimitExceeded, requests.RequestException):
    """A request refused by a rate limit, ours or the server's (a ``RequestException``)."""


class QuotaExhausted(exceptions.QuotaExhausted, RateLimitExceeded):
    """A calendar quota is spent until it resets (a ``requests.RequestException``)."""


class StorageUnavailable(exceptions.StorageUnavailable, RateLimitExceeded):
    """The shared limiter storage cannot be reached (a ``requests.RequestException``)."""


_CLASSES: dict[Cause, type[RateLimitExceeded]] = {
    Cause.QUOTA: QuotaExhausted,
    Cause.STORAGE: StorageUnavailable,
}


def to_exception(problem: Problem, request: Any, response: Any = None) -> RateLimitExceeded:
    """``problem`` as the requests flavour of :class:`tiktok_adapter.RateLimitExceeded`."""
    cls = _CLASSES.get(problem.cause, RateLimitExceeded)
    return cls(
        problem.message,
        retry_after=problem.retry_after,
        endpoint=problem.endpoint,
        limit=problem.limit,
        request=request,
        response=response,
        reset_at=utc(problem.reset_at),
    )
