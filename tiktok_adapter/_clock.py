"""The one injectable source of time (now and sleep) for the whole package."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the package needs of time: a wall-clock reading and a way to wait."""

    def now(self) -> float:
        """Seconds since the epoch (UTC), like ``time.time()``."""

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""


class SystemClock:
    """The real clock."""

    __slots__ = ()

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that only moves when told to, or when someone sleeps on it.

    ``sleep(d)`` returns at once and moves time forward by ``d``, so tests run hours
    of windows in milliseconds. Every sleep is recorded in ``sleeps``.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` without recording a sleep."""
        with self._lock:
            self._now += seconds

    def set(self, timestamp: float) -> None:
        """Jump to ``timestamp`` (never backwards)."""
        with self._lock:
            self._now = max(self._now, float(timestamp))

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"


SYSTEM_CLOCK: Clock = SystemClock()
