"""The requests flavour of the package's errors: a problem the rules found, as an exception."""

from __future__ import annotations

from typing import Any

from ..core.decide import Cause, Problem, utc
from ..exceptions import QuotaExhausted, RateLimitExceeded, StorageUnavailable

_CLASSES: dict[Cause, type[RateLimitExceeded]] = {
    Cause.QUOTA: QuotaExhausted,
    Cause.STORAGE: StorageUnavailable,
}


def to_exception(problem: Problem, request: Any, response: Any = None) -> RateLimitExceeded:
    """``problem`` as a :class:`RateLimitExceeded` (a ``requests.RequestException``)."""
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
