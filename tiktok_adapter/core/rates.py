"""Limit strings and the rates they describe: "10/minute;100/hour;1000/day@utc;6/minute@token"."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, get_args

import limits

from .errors import ConfigurationError

# Suffixes of one limit part: "@utc" counts per UTC calendar period instead of in a
# moving window; "@token" and "@account" count per user token or business account.
CALENDAR_SUFFIX = "utc"
Scope = Literal["app", "token", "account"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
# Bounded so that every later sum of timestamps, sleep and Redis expiry in
# milliseconds stays finite and in range.
DAY = 86_400
MAX_AMOUNT = 1_000_000_000  # requests in one window
MAX_PERIOD = 3650 * DAY  # ten years; the shortest window is one second (`limits` syntax)


@dataclass(frozen=True)
class Rate:
    """One limit: ``amount`` requests per ``period`` seconds.

    A moving rate counts the requests of the last ``period`` seconds; a calendar rate
    counts per UTC-aligned period (a UTC day resets at 00:00 UTC). ``scope`` says who
    shares the count: the whole app, each user token, or each business account.
    """

    amount: int
    period: float
    calendar: bool
    text: str
    scope: Scope = "app"


def parse_rates(text: str, setting: str) -> tuple[Rate, ...]:
    """Parse "10/minute;100/hour;1000/day@utc;6/minute@token" or raise ConfigurationError.

    Each part allows 1 to MAX_AMOUNT requests in a window of 1 second to MAX_PERIOD.
    """
    hint = "write it like '10/minute', '5 per second', '1000/day@utc' or '6/minute@token'"
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError(f"{setting}={text!r} is not a limit string; {hint}")
    rates: list[Rate] = []
    for raw in text.replace("|", ";").replace(",", ";").split(";"):
        part = raw.strip()
        spec, *suffixes = (p.strip().lower() for p in part.split("@"))
        calendar = CALENDAR_SUFFIX in suffixes
        scopes = [x for x in suffixes if x != CALENDAR_SUFFIX]
        scope = next((s for s in SCOPES if scopes == [s]), None)
        if len(scopes) > 1 or (scopes and scope is None):
            raise ConfigurationError(
                f"{setting}={text!r}: {part!r} has an unknown suffix; use @utc and one of "
                + ", ".join(f"@{x}" for x in SCOPES)
            )
        try:
            items = limits.parse_many(spec)
        except ValueError:
            raise ConfigurationError(
                f"{setting}={text!r}: {part!r} is not a limit; {hint}"
            ) from None
        # `limits` reads "5/0second" as 5 per second; a zero period is a typo, not a window.
        if re.search(r"(?:/|per)\s*0+\s*[a-z]", spec):
            raise ConfigurationError(
                f"{setting}={text!r}: {part!r} has a period of zero; the window must be "
                "1 second or more, such as '5/second' or '5/10second'"
            )
        for item in items:
            # Bounded so that every later sum of timestamps, sleep and Redis expiry in
            # milliseconds stays finite and in range.
            if not 1 <= item.amount <= MAX_AMOUNT:
                raise ConfigurationError(
                    f"{setting}={text!r}: {part!r} allows "
                    f"{'no' if item.amount < 1 else 'too many'} requests; "
                    f"the amount must be from 1 to {MAX_AMOUNT:,}"
                )
            if item.get_expiry() > MAX_PERIOD:
                raise ConfigurationError(
                    f"{setting}={text!r}: {part!r} has too long a window; the period must be "
                    f"from 1 second to {MAX_PERIOD:,} seconds (ten years)"
                )
            rate = Rate(item.amount, float(item.get_expiry()), calendar, part, scope or "app")
            rates.append(rate)
    return tuple(rates)


def cap_for(rate: Rate, share: float) -> int:
    """How many of the window's slots a caller with ``share`` of it may fill."""
    if share >= 1.0:
        return rate.amount
    return max(1, math.floor(rate.amount * share))
