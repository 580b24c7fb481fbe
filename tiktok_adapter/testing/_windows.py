"""The simulator's own limit counting: a sliding log of accepted arrivals per window."""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass

_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_PART = re.compile(
    r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE
)
SCOPES = ("app", "token", "account")


@dataclass(frozen=True)
class ServerRate:
    """One limit as the server enforces it: ``amount`` per ``period`` seconds."""

    amount: int
    period: float
    calendar: bool = False
    scope: str = "app"
    text: str = ""


def parse_limits(text: str) -> tuple[ServerRate, ...]:
    """Parse "10/minute;100/hour;1000/day@utc;6/minute@token"; raise ValueError otherwise."""
    rates = []
    for raw in text.replace("|", ";").replace(",", ";").split(";"):
        spec, *suffixes = (p.strip().lower() for p in raw.split("@"))
        match = _PART.match(spec)
        if match is None or int(match.group(1)) < 1:
            raise ValueError(f"{raw.strip()!r} is not a limit such as '10/minute'")
        calendar = "utc" in suffixes
        scopes = [s for s in suffixes if s != "utc"]
        if len(scopes) > 1 or (scopes and scopes[0] not in SCOPES):
            raise ValueError(f"{raw.strip()!r} has an unknown suffix")
        period = int(match.group(2) or 1) * _UNITS[match.group(3).lower()]
        rates.append(
            ServerRate(int(match.group(1)), period, calendar, scopes[0] if scopes else "app",
                       raw.strip())
        )  # fmt: skip
    return tuple(rates)


@dataclass(frozen=True)
class Verdict:
    """How one window stands for a request: slots left after it, and when one frees."""

    rate: ServerRate
    remaining: int
    resets_at: float


class SlidingLog:
    """Arrival times of accepted requests; a moving window counts the last ``period`` s.

    A calendar window (``@utc``) counts per UTC-aligned period instead.
    """

    def __init__(self, rate: ServerRate) -> None:
        self.rate = rate
        self._times: deque[float] = deque()
        self._bucket = -1
        self._count = 0

    def _expire(self, now: float) -> None:
        if self.rate.calendar:
            bucket = int(now // self.rate.period)
            if bucket != self._bucket:
                self._bucket, self._count = bucket, 0
            return
        horizon = now - self.rate.period
        times = self._times
        while times and times[0] <= horizon:
            times.popleft()

    def check(self, now: float) -> Verdict:
        """The window's state at ``now`` without charging it."""
        self._expire(now)
        rate = self.rate
        if rate.calendar:
            return Verdict(rate, rate.amount - self._count, (self._bucket + 1) * rate.period)
        used = len(self._times)
        if used < rate.amount:
            # With room left, the next change comes when the oldest arrival leaves.
            resets = self._times[0] + rate.period if self._times else now + rate.period
            return Verdict(rate, rate.amount - used, resets)
        # Full: one more fits once the amount-th newest arrival has left the window.
        return Verdict(rate, 0, self._times[-rate.amount] + rate.period)

    def charge(self, now: float, amount: int = 1) -> None:
        """Count ``amount`` arrivals (records, for a record budget) at ``now``."""
        if self.rate.calendar:
            self._expire(now)
            self._count += amount
        else:
            self._times.extend([now] * amount)

    @property
    def empty(self) -> bool:
        return not self._times and self._count == 0


def ceil_seconds(moment: float) -> int:
    """Whole seconds, rounded up so a client that trusts them is never early."""
    return math.ceil(moment - 1e-9)
