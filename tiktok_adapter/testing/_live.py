"""LiveClock: FakeTikTok's default clock, real time that jumps forward when slept on."""

from __future__ import annotations

import threading

from ..core.clock import SYSTEM_CLOCK, wall_time


class LiveClock:
    """Real time (the system clock) plus every second anyone slept on this clock.

    A fake made without a clock runs on one, so both ways of using it keep the fake's
    windows and the adapter's in step:

    * an adapter on its own real clock (``mount(session)``, as in the Quickstart)
      never sleeps on this one, so both count real time and agree;
    * an adapter given this clock (``fake.adapter_options()``) waits by moving it
      forward at once, as on a :class:`~tiktok_adapter.testing.FakeClock`, so hours of
      windows pass in milliseconds.

    Mixing the two on one fake is what breaks: a sleep on this clock moves the fake's
    time ahead of an adapter on the real clock. Every sleep is recorded in ``sleeps``.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        return SYSTEM_CLOCK.now() + self._offset

    def wall(self) -> float:
        """The calendar time, moved by the same sleeps as ``now()``."""
        return wall_time(SYSTEM_CLOCK) + self._offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._offset += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` without recording a sleep."""
        with self._lock:
            self._offset += max(seconds, 0.0)

    @property
    def offset(self) -> float:
        """Seconds this clock runs ahead of real time."""
        return self._offset

    def __getstate__(self) -> dict[str, object]:
        # The lock stays behind, so a session holding an adapter on this clock pickles.
        return {"_offset": self._offset, "sleeps": self.sleeps}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LiveClock(offset={self._offset!r})"
