"""The RateLimitExceeded errors for refusals, ours (before sending) or the server's."""

from __future__ import annotations

import datetime
from typing import Any

from ._limiter import Admission, cap_for
from ._refusal import QUOTA, Refusal
from ._routes import Route
from .exceptions import QuotaExhausted, RateLimitExceeded
from .priority import Priority


def refused(
    request: Any,
    route: Route,
    verdict: Admission,
    now: float,
    level: Priority | None = None,
    share: float = 1.0,
) -> RateLimitExceeded:
    """A request our own limiter (or a server block it knows of) refused; nothing was sent."""
    reset_at = utc(now + verdict.wait)
    if verdict.calendar:
        which = "the server's quota" if verdict.limit == "server" else f"the quota {verdict.limit}"
        message = (
            f"{route.name}: {which} is spent; it comes back at "
            f"{reset_at.isoformat(timespec='seconds')}"
        )
    else:
        message = (
            f"{route.name}: {why_waiting(verdict, level, share)}; retry in {verdict.wait:.2f} s"
        )
    cls = QuotaExhausted if verdict.calendar else RateLimitExceeded
    return cls(message, retry_after=verdict.wait, endpoint=route.name, limit=verdict.limit,
               request=request, reset_at=reset_at)  # fmt: skip


def why_waiting(verdict: Admission, level: Priority | None, share: float) -> str:
    """What holds a request back: the limit itself, a priority's share of it, or the server."""
    if verdict.limit == "server":
        return "paused by the server"
    rate = verdict.rate
    if rate is not None and level is not None and cap_for(rate, share) < rate.amount:
        # Never "limit reached" when the limit was not: this level may not fill it.
        return f"{level.name} may use {cap_for(rate, share)} of {rate.text}"
    return f"limit {verdict.limit} reached"


def queue_timeout(
    request: Any, route: Route, waited: float, retry_after: float, ahead: int, now: float
) -> RateLimitExceeded:
    """``max_wait`` ran out while the request was still queued behind others for ``route``."""
    message = (
        f"{route.name}: max_wait ran out after {waited:.2f} s in the queue behind "
        f"{ahead} other request(s); retry in {retry_after:.2f} s"
    )
    return RateLimitExceeded(message, retry_after=retry_after, endpoint=route.name,
                             limit="queue", request=request,
                             reset_at=utc(now + retry_after))  # fmt: skip


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
