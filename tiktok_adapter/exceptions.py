"""The package's exceptions.

Our exception tree::

    TikTokAdapterError                      every error this package raises
    ├── ConfigurationError (ValueError)     a bad setting or argument, raised at construction
    ├── MissingDependency (ImportError)     an optional extra is not installed
    ├── TikTokAPIError                      the API answered with an error envelope (pagination)
    ├── PaginationError                     a cursor repeated or went missing (pagination)
    └── RateLimitExceeded                   a request refused by a limit, ours or the server's
        ├── QuotaExhausted                  a daily quota is spent until the next reset
        └── StorageUnavailable              the shared limiter storage cannot be reached

Each transport raises its own flavour of the last three, a subclass that is also its HTTP
library's base error, so existing handlers catch it: ``requests.RequestException`` for
the requests adapter (``tiktok_adapter.adapter``), ``httpx.HTTPError`` for
``tiktok_adapter.httpx``, ``aiohttp.ClientError`` for ``tiktok_adapter.aiohttp``.
``except tiktok_adapter.RateLimitExceeded`` catches every flavour.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# The two the core raises are defined there, so the core imports nothing outside itself;
# these are the same classes.
from .core.decide import Cause, Problem, utc
from .core.errors import ConfigurationError, TikTokAdapterError

if TYPE_CHECKING:
    import requests

__all__ = [
    "ConfigurationError",
    "MissingDependency",
    "PaginationError",
    "QuotaExhausted",
    "RateLimitExceeded",
    "StorageUnavailable",
    "TikTokAPIError",
    "TikTokAdapterError",
]

# Named by this module in tracebacks and pickles, as before they moved into the core.
ConfigurationError.__module__ = TikTokAdapterError.__module__ = __name__


class MissingDependency(TikTokAdapterError, ImportError):
    """A feature needs an optional extra; the message names the pip command that installs it."""


class RateLimitExceeded(TikTokAdapterError):
    """A request was refused by a rate limit.

    ``response`` is None when the request was refused before it was sent (our own
    limiter, or a block the server announced earlier), and the server's answer when
    the server refused it.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        endpoint: str,
        limit: str,
        request: Any = None,
        response: Any = None,
        reset_at: datetime.datetime | None = None,
    ) -> None:
        super().__init__(message)
        if request is None and response is not None:
            request = getattr(response, "request", None)
        self.request = request
        self.response = response
        self.retry_after = float(retry_after)
        self.endpoint = endpoint
        self.limit = limit
        self.reset_at = reset_at


class QuotaExhausted(RateLimitExceeded):
    """A calendar quota (such as the Research API's daily 1,000) is spent until it resets."""


class StorageUnavailable(RateLimitExceeded):
    """The shared limiter storage (Redis) did not answer and fallback is off."""


class TikTokAPIError(TikTokAdapterError):
    """The API answered with an error envelope (or no envelope at all).

    ``code`` is TikTok's error code ("invalid_params", "rate_limit_exceeded", ...) or
    ``http_<status>`` when the body held none; ``response`` is the raw response.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        log_id: str | None = None,
        status_code: int | None = None,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.log_id = log_id
        self.status_code = status_code
        self.response = response


class PaginationError(TikTokAdapterError):
    """A paginated listing cannot go on safely (a repeated or missing cursor, too many pages)."""


@dataclass(frozen=True)
class Flavour:
    """One transport's errors: subclasses of the three above that are also its HTTP
    library's base error (see each transport's ``_errors`` / ``problems`` module)."""

    refused: type[RateLimitExceeded]
    quota: type[QuotaExhausted]
    storage: type[StorageUnavailable]

    def of(self, problem: Problem, request: Any, response: Any = None) -> RateLimitExceeded:
        """``problem`` as this flavour's exception; ``request`` is the library's request
        (a transport's view of it hands over its ``original``)."""
        causes: dict[Cause, type[RateLimitExceeded]] = {
            Cause.QUOTA: self.quota, Cause.STORAGE: self.storage,
        }  # fmt: skip
        return causes.get(problem.cause, self.refused)(
            problem.message,
            retry_after=problem.retry_after,
            endpoint=problem.endpoint,
            limit=problem.limit,
            request=getattr(request, "original", request),
            response=response,
            reset_at=utc(problem.reset_at),
        )
