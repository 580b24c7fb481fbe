"""ScaledClock: real time sped up, so a simulated hour can pass in a minute."""

from __future__ import annotations

import time


class ScaledClock:
    """A clock that runs ``scale`` times faster than the real one.

    ``now()`` is ``start + real_elapsed * scale`` and ``sleep(d)`` sleeps ``d / scale``
    real seconds, so a simulator and an adapter that share it (or two clocks with the
    same start and scale) agree on every window.
    """

    def __init__(self, scale: float = 1.0, start: float | None = None) -> None:
        if not scale > 0:
            raise ValueError(f"scale={scale!r} must be a positive number")
        self.scale = float(scale)
        self.start = time.time() if start is None else float(start)
        self._origin = time.monotonic()

    def now(self) -> float:
        return self.start + (time.monotonic() - self._origin) * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.scale)

    def real(self, simulated: float) -> float:
        """Real seconds that ``simulated`` seconds take on this clock."""
        return simulated / self.scale

    def __repr__(self) -> str:
        return f"ScaledClock(scale={self.scale!r}, start={self.start!r})"
