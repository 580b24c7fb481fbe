"""In-process window counting, guarded by one lock so threads never over-admit."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from ._limiter import ADMITTED, QUOTA_BLOCK, Admission, Usage, Window, cap_for

# Idle windows (a per-token scope with many users) are swept this often, so memory
# stays bounded by the users active within the longest window.
_SWEEP_EVERY = 4096


class MemoryStore:
    """Moving windows as deques of admission times; calendar windows as one counter.

    `limits`' MemoryStorage checks and charges each item under its own lock, so two
    threads can both pass the check of one window before either charges it, and a
    refusal by the hour window cannot un-charge the minute window. Checking and
    charging every window of a request under one lock makes admission exact and
    all-or-nothing.
    """

    def __init__(self, margin: float = 0.0) -> None:
        self.margin = margin
        self._lock = threading.Lock()
        self._moving: dict[str, deque[float]] = {}
        self._calendar: dict[str, tuple[int, int]] = {}
        self._spans: dict[str, float] = {}
        self._blocks: dict[str, float] = {}
        self._ops = 0

    def acquire(
        self,
        windows: Sequence[Window],
        blocks: Sequence[str],
        now: float | None,
        share: float = 1.0,
    ) -> Admission:
        with self._lock:
            if now is None:
                raise ValueError("MemoryStore needs the caller's clock reading")
            refusal = self._refusal(windows, blocks, now, share)
            if refusal is not None:
                return refusal
            for window in windows:
                rate = window.rate
                if rate.calendar:
                    bucket = int(now // rate.period)
                    held = self._calendar.get(window.key)
                    count = held[1] if held and held[0] == bucket else 0
                    self._calendar[window.key] = (bucket, count + 1)
                    self._spans[window.key] = rate.period
                else:
                    times = self._moving.get(window.key)
                    if times is None:
                        times = self._moving[window.key] = deque(maxlen=rate.amount)
                        self._spans[window.key] = rate.period + self.margin
                    times.append(now)
            self._ops += 1
            if self._ops % _SWEEP_EVERY == 0:
                self._sweep(now)
            return ADMITTED

    def _refusal(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float, share: float
    ) -> Admission | None:
        wait, limit, calendar = 0.0, "", False
        for key in blocks:
            until = self._blocks.get(key, 0.0)
            if until > now and until - now > wait:
                wait, limit, calendar = until - now, "server", key.startswith(QUOTA_BLOCK)
        for window in windows:
            rate = window.rate
            cap = cap_for(rate, share)
            if rate.calendar:
                bucket = int(now // rate.period)
                held = self._calendar.get(window.key)
                if held and held[0] == bucket and held[1] >= cap:
                    w = (bucket + 1) * rate.period + self.margin - now
                    if w > wait:
                        wait, limit, calendar = w, rate.text, True
                continue
            times = self._moving.get(window.key)
            if times is None or len(times) < cap:
                continue
            # The cap-th newest admission must leave the window before one more fits.
            w = times[-cap] + rate.period + self.margin - now
            if w > wait:
                wait, limit, calendar = w, rate.text, False
        if wait <= 0.0:
            return None
        return Admission(False, wait, limit, calendar)

    def block(self, key: str, until: float, now: float) -> None:
        with self._lock:
            if until > self._blocks.get(key, 0.0):
                self._blocks[key] = until

    def blocked_until(self, key: str, now: float) -> float:
        until = self._blocks.get(key, 0.0)
        return until if until > now else 0.0

    def usage(self, window: Window, now: float) -> Usage:
        rate = window.rate
        with self._lock:
            if rate.calendar:
                bucket = int(now // rate.period)
                held = self._calendar.get(window.key)
                used = held[1] if held and held[0] == bucket else 0
                return Usage(used, (bucket + 1) * rate.period)
            horizon = now - rate.period - self.margin
            live = [t for t in self._moving.get(window.key, ()) if t > horizon]
            resets = live[0] + rate.period + self.margin if live else now
            return Usage(len(live), resets)

    def _sweep(self, now: float) -> None:
        for key, times in list(self._moving.items()):
            # A deque's last entry is its newest; once even that has left the
            # window, the key holds nothing that could refuse a request.
            if not times or times[-1] + self._spans[key] <= now:
                del self._moving[key], self._spans[key]
        for key, (bucket, _count) in list(self._calendar.items()):
            if (bucket + 1) * self._spans[key] <= now:
                del self._calendar[key], self._spans[key]
        for key, until in list(self._blocks.items()):
            if until <= now:
                del self._blocks[key]

    def close(self) -> None:
        with self._lock:
            self._moving.clear()
            self._calendar.clear()
            self._blocks.clear()
            self._spans.clear()
