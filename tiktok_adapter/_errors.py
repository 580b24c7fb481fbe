"""The RateLimitExceeded errors for refusals, ours (before sending) or the server's."""

from __future__ import annotations

import datetime
from typing import Any

from ._limiter import Admission
from ._refusal import QUOTA, Refusal
from ._routes import Route
from .exceptions import QuotaExhausted, RateLimitExceeded


def refused(request: Any, route: Route, verdict: Admission, now: float) -> RateLimitExceeded:
    """A request our own limiter (or a server block it knows of) refused; nothing was sent."""
    reset_at = utc(now + verdict.wait)
    if verdict.calendar:
        which = "the server's quota" if verdict.limit == "server" else f"the quota {verdict.limit}"
        message = (
            f"{route.name}: {which} is spent; it comes back at "
            f"{reset_at.isoformat(timespec='seconds')}"
        )
    else:
        message = f"{route.name}: limit {verdict.limit} reached; retry in {verdict.wait:.2f} s"
    cls = QuotaExhausted if verdict.calendar else RateLimitExceeded
    return cls(message, retry_after=verdict.wait, endpoint=route.name, limit=verdict.limit,
               request=request, reset_at=reset_at)  # fmt: skip


def server_refused(
    request: Any, route: Route, response: Any, refusal: Refusal, now: float
) -> RateLimitExceeded:
    """The server refused the request; ``refusal.retry_at`` is when the endpoint reopens."""
    wait = max((refusal.retry_at or now) - now, 0.0)
    reset_at = utc(now + wait)
    quota = refusal.kind == QUOTA
    if quota:
        message = (
            f"{route.name}: the daily quota is spent ({refusal.code}); it comes back at "
            f"{reset_at.isoformat(timespec='seconds')}"
        )
    else:
        message = f"{route.name}: refused by the server ({refusal.code}); retry in {wait:.2f} s"
    cls = QuotaExhausted if quota else RateLimitExceeded
    return cls(message, retry_after=wait, endpoint=route.name, limit="server",
               request=request, response=response, reset_at=reset_at)  # fmt: skip


def utc(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
