"""Pure parsing of rate-limit headers; every function takes ``now`` and never sleeps."""

from __future__ import annotations

import email.utils
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# A value longer than this is not a number or date that any server sends honestly.
_MAX_HEADER_LEN = 64
# Reset values at or above this are epoch seconds; smaller ones are delta seconds.
_EPOCH_THRESHOLD = 1_000_000_000.0
_EPOCH_MS_THRESHOLD = 100_000_000_000.0
# No rate limit resets further away than its longest period, a month: a Reset naming a
# later moment (``1e308``, a date centuries away) is garbage, and ignored rather than
# read as a reason to close a working endpoint. Nearer ones are clamped to a day later.
_MAX_RESET_AHEAD = 31 * 86_400.0
# An HTTP Date has one-second resolution, rounded down: the server's true time is up to
# a second past it, so a span measured from it to a moment the server rounds up (a
# Reset, a Retry-After date, as servers do so that a client trusting them is never
# early) is never short, and up to this much long.
_DATE_RESOLUTION = 1.0
# A whole-second Reset rounded up names a moment up to this much after the true one.
_SECOND = 1.0


@dataclass(frozen=True)
class RateInfo:
    """What the server said about its window; a field is None where it said nothing usable.

    ``reset_at`` and ``retry_at`` are moments on *our* clock: where the server sent a
    Date header, its epoch values are shifted by the difference between the clocks.
    """

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    retry_at: float | None = None
    # How much earlier than ``reset_at`` the server's true reset may be: whole-second
    # values are rounded (Reset up, Date down), so the moment they name errs late by up
    # to this much. 0 for values precise to the millisecond.
    reset_slack: float = 0.0


def _number(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > _MAX_HEADER_LEN:
        if text:
            logger.debug("ignoring %s: value too long", name)
        return None
    try:
        number = float(text)
    except ValueError:
        logger.debug("ignoring %s=%r: not a number", name, text[:_MAX_HEADER_LEN])
        return None
    if not math.isfinite(number) or number < 0:
        logger.debug("ignoring %s=%r: not a finite, non-negative number", name, text)
        return None
    return number


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP-date, or None when it is not one."""
    if not value or len(value) > _MAX_HEADER_LEN:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _to_our_clock(server_moment: float, now: float, server_date: float | None) -> float:
    if server_date is None:
        return server_moment
    # No second added for Date's resolution: Date is rounded down, so the span from it
    # already errs late (see _DATE_RESOLUTION).
    return now + (server_moment - server_date)


def parse_retry_after(
    value: str | None, now: float, server_date: float | None = None
) -> float | None:
    """Seconds to wait from ``now`` named by a Retry-After value (delta or HTTP-date)."""
    if value is None:
        return None
    text = value.strip()
    if text[:1].isdigit() or text[:1] in ".-+":
        delta = _number(text, "Retry-After")
        return delta
    moment = parse_http_date(text)
    if moment is None:
        logger.debug("ignoring Retry-After: neither seconds nor an HTTP-date")
        return None
    return max(_to_our_clock(moment, now, server_date) - now, 0.0)


def parse_reset(value: str | None, now: float, server_date: float | None = None) -> float | None:
    """The moment (our clock) named by X-RateLimit-Reset: epoch s, epoch ms or delta s;
    None for a moment more than a month away, which no rate limit names."""
    number = _number(value, "X-RateLimit-Reset")
    if number is None:
        return None
    if number >= _EPOCH_MS_THRESHOLD:
        moment = _to_our_clock(number / 1000.0, now, server_date)
    elif number >= _EPOCH_THRESHOLD:
        moment = _to_our_clock(number, now, server_date)
    else:
        moment = now + number
    if moment - now > _MAX_RESET_AHEAD:
        logger.debug("ignoring X-RateLimit-Reset=%r: more than a month away", value)
        return None
    return moment


def reset_slack(value: str | None, server_date: float | None = None) -> float:
    """How much earlier than :func:`parse_reset`'s moment the server's reset may truly be:
    a second for whole seconds (rounded up), and a second more for an epoch moment
    measured from a Date (rounded down); 0 for values finer than that."""
    number = _number(value, "X-RateLimit-Reset")
    if number is None:
        return 0.0
    whole = number < _EPOCH_MS_THRESHOLD and number == int(number)
    slack = _SECOND if whole else 0.0
    if number >= _EPOCH_THRESHOLD and server_date is not None:
        slack += _DATE_RESOLUTION
    return slack


def _count(value: str | None, name: str) -> int | None:
    number = _number(value, name)
    if number is None or number != int(number) or number > 2**53:
        return None
    return int(number)


class LowerHeaders(dict[str, str]):
    """Response headers keyed by lower-case name, as a transport builds them once per
    answer (requests' ``lower_items()``, say). A plain dict underneath: the core's lookups
    and the no-rate-header test below are dict operations, with no call into Python."""

    __slots__ = ()


def case_insensitive(headers: Mapping[str, str]) -> Mapping[str, str]:
    """``headers`` to look names up in lower case. A plain dict knows only the case it was
    written in, so it is lowered once; :class:`LowerHeaders` and the transports'
    case-insensitive views (httpx's headers, seen through ours) are used as they are."""
    if type(headers) is dict:
        return {str(k).lower(): v for k, v in headers.items()}
    return headers


# The names that carry rate information: an answer with none of them has none.
RATE_HEADERS = frozenset(
    {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"}
)


def parse_rate_headers(headers: Mapping[str, str], now: float) -> RateInfo | None:
    """The rate information in ``headers``, or None when there is none (the common case)."""
    # A view that lists its lower-case names at once answers the common case (no rate
    # header at all) with one set operation instead of four lookups.
    if type(headers) is LowerHeaders:
        if RATE_HEADERS.isdisjoint(headers):
            return None
    elif (names := getattr(headers, "lower_names", None)) is not None:
        if RATE_HEADERS.isdisjoint(names()):
            return None
    else:
        headers = case_insensitive(headers)
    # Lower-case names: a view keyed that way (see the transports) lowers nothing more.
    limit = headers.get("x-ratelimit-limit")
    remaining = headers.get("x-ratelimit-remaining")
    reset = headers.get("x-ratelimit-reset")
    retry = headers.get("retry-after")
    if limit is None and remaining is None and reset is None and retry is None:
        return None
    server_date = parse_http_date(headers.get("date"))
    retry_after = parse_retry_after(retry, now, server_date)
    left = _count(remaining, "X-RateLimit-Remaining")
    return RateInfo(
        limit=_count(limit, "X-RateLimit-Limit"),
        remaining=left,
        reset_at=parse_reset(reset, now, server_date),
        retry_at=None if retry_after is None else now + retry_after,
        # Only a spent window's reset is acted on (core/refusal.py, exhausted).
        reset_slack=reset_slack(reset, server_date) if left == 0 else 0.0,
    )
