"""The one injectable source of time (now and sleep) for the whole package."""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

logger = logging.getLogger("tiktok_adapter")


class Clock(Protocol):
    """What the package needs of time: a steady reading and a way to wait.

    ``now()`` is in seconds since the epoch but must never jump: moving windows,
    blocks and waits are measured on it. A clock may also offer ``wall()``, the
    calendar time (``time.time()``), which only calendar windows (``@utc``) read;
    without it they read ``now()`` (see :func:`wall_time`).
    """

    def now(self) -> float:
        """Seconds since the epoch (UTC), advancing steadily."""

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""


class SystemClock:
    """The real clock: ``now()`` is monotonic, ``wall()`` is the calendar.

    ``now()`` starts at the wall-clock time of the first reading and then follows
    ``time.monotonic()``, so an NTP step or a hand-set date neither lets a moving
    window through early nor parks it for an hour.
    """

    __slots__ = ()

    def now(self) -> float:
        return _ANCHOR_WALL + (time.monotonic() - _ANCHOR_MONO)

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


_ANCHOR_MONO = time.monotonic()
_ANCHOR_WALL = time.time()


def wall_time(clock: Clock) -> float:
    """The calendar time of ``clock``: its ``wall()`` where it has one, else ``now()``."""
    wall = getattr(clock, "wall", None)
    return float(wall()) if wall is not None else clock.now()


class FakeClock:
    """A clock that only moves when told to, or when someone sleeps on it.

    ``sleep(d)`` returns at once and moves time forward by ``d``, so tests run hours
    of windows in milliseconds. Every sleep is recorded in ``sleeps``.

    One thread at a time: a sleep moves time even under another thread's request in
    flight, which a server on this clock may then refuse. Threads that share a fake
    clock need ``tiktok_adapter.testing.ThreadedFakeClock``; a FakeClock slept on by
    two live threads says so once, in a warning.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._wall_offset = 0.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []
        # The id of the thread that sleeps here, to say once when a second one does.
        self._sleeper: int | None = None
        self._warned = False

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        """The calendar time: ``now()`` unless :meth:`step_wall` moved it."""
        return self._now + self._wall_offset

    def step_wall(self, seconds: float) -> None:
        """Step the calendar by ``seconds`` (either way), as an NTP correction does;
        ``now()`` does not move."""
        with self._lock:
            self._wall_offset += seconds

    def sleep(self, seconds: float) -> None:
        me = threading.get_ident()
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)
            if self._sleeper == me or self._warned:
                return
            # Rare: another thread sleeps here. Harmless if the first one has finished.
            first = next((t for t in threading.enumerate() if t.ident == self._sleeper), None)
            if first is None:
                self._sleeper = me
                return
            self._warned = True
        logger.warning(
            "FakeClock: slept on by two threads (%s, %s); a sleep moves time at once, even "
            "under the other thread's request in flight. Threads that share a fake clock: "
            "tiktok_adapter.testing.ThreadedFakeClock",
            first.name, threading.current_thread().name,
        )  # fmt: skip

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` without recording a sleep."""
        with self._lock:
            self._now += seconds

    def set(self, timestamp: float) -> None:
        """Jump to ``timestamp`` (never backwards)."""
        with self._lock:
            self._now = max(self._now, float(timestamp))

    def __getstate__(self) -> dict[str, object]:
        # The lock stays behind, so a session holding an adapter on a fake clock pickles.
        return {"_now": self._now, "_wall_offset": self._wall_offset, "sleeps": self.sleeps}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._sleeper, self._warned = None, False

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"


SYSTEM_CLOCK: Clock = SystemClock()
