"""What one process may admit while it counts without the shared store: its share.

While the store cannot be reached, or while the fleet is not settled (a member may be
counting alone), each process admits at most its share of each window
(``FleetView.cap``). During the first period of a window after the outage began, the
rest of the fleet may already have used part of it: the share is then taken of what
this process saw the fleet hold at its last admission on that window, if that reading
was fresh at the outage, or of nothing (the window counts as full) if it was not. What
the process admits alone is kept, so that when the store is back it can be replayed
into the shared windows. ``fallback`` decides when to count alone; this module counts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple

from ..core.forksafe import after_fork_in_child
from ..core.windows import Admission, Window
from .fleet import FleetView
from .memory import MemoryStore

# How old this process's last view of a window may be at an outage for it to say what
# the rest of the fleet held; an older one says nothing, and the window counts as full.
# The heartbeat reads the windows this process used last (``REFRESHED``) every second, so
# a reading is at most a heartbeat old when the store fails, plus the time a request takes
# to find the failure.
FRESH = 2.5
_SEEN = 4096  # per-token windows: a bound on the readings kept (a forgotten one is "full")
REFRESHED = 8  # the windows the heartbeat reads again: the ones admitted through last


class Replayed(NamedTuple):
    """One window's admissions made alone, as the shared store's ``replay`` takes them."""

    window: Window
    stamps: list[float]  # on the store's clock (a calendar window's: the wall clock), oldest first
    alone: int  # how many of them (the newest) were admitted during the outage
    held: int  # a calendar window: this process's count in the current period, outage included


class OutageShare:
    """The share of each window that one process may admit alone, on the in-process
    ``shadow`` that counts every admission of the process."""

    def __init__(self, shadow: MemoryStore, margin: float, recheck: float) -> None:
        self.shadow = shadow
        self.margin = margin
        # A wait decided alone is at most this long: the store may be back sooner, and
        # then the fleet's own count decides (a share of an hour's window is not an hour).
        self.recheck = recheck
        self.view = FleetView()
        self.outage_at: float | None = None
        self._lock = threading.Lock()
        after_fork_in_child(self, "_lock")
        # Per window key: what the rest of the fleet may hold, until when.
        self._others: dict[str, tuple[int, float]] = {}
        # Per window key: what the fleet held at this process's last admission or
        # heartbeat, when, and the window (the most recent last).
        self._seen: dict[str, tuple[int, float, Window]] = {}
        # Per window key: the window, and the (now, wall) of each admission made alone.
        self._alone: dict[str, tuple[Window, list[tuple[float, float]]]] = {}

    def began(self, now: float) -> None:
        """An outage began at ``now``: the fleet's holdings are read afresh per window."""
        self.outage_at = now
        self._others.clear()

    def saw(self, windows: Sequence[Window], verdict: Admission, now: float) -> None:
        """Note what the fleet held in each window when the store admitted."""
        if verdict.held:
            for window, held in zip(windows, verdict.held, strict=False):
                self.read(window, int(held), now)

    def read(self, window: Window, held: int, now: float) -> None:
        """Note that the fleet held ``held`` in ``window`` at ``now``."""
        seen = self._seen
        if len(seen) > _SEEN:
            seen.clear()
        seen.pop(window.key, None)  # to the end: the most recent last
        seen[window.key] = (held, now, window)

    def to_refresh(self, now: float, age: float) -> list[Window]:
        """The windows admitted through last whose reading is older than ``age``, for the
        heartbeat to read again (at most ``REFRESHED``)."""
        recent = list(self._seen.values())[-REFRESHED:]
        return [window for _, at, window in recent if now - at > age]

    def acquire(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float, share: float,
        wall: float | None,
    ) -> Admission:  # fmt: skip
        """Admit on the shadow within this process's share; ``wall`` (the wall clock)
        keeps the admission for the replay, None does not (it goes through the store)."""
        capped, refusal = self._capped(windows, now)
        if refusal is not None:
            return refusal
        verdict = self.shadow.acquire(capped, blocks, now, share)
        if not verdict.admitted:
            return replace(verdict, wait=min(verdict.wait, self.recheck), calendar=False)
        if wall is not None:
            with self._lock:
                for window in windows:
                    self._alone.setdefault(window.key, (window, []))[1].append((now, wall))
        return verdict

    def _capped(
        self, windows: Sequence[Window], now: float
    ) -> tuple[Sequence[Window], Admission | None]:
        """``windows`` at this process's share, or the refusal when the share is none."""
        view, out = self.view, []
        wait = 0.0
        for window in windows:
            rate = window.rate
            others = self._others.get(window.key)
            if others is None and self.outage_at is not None:
                others = self._others[window.key] = self._others_at_outage(window, now)
            alone = view.size == 1  # the heartbeat saw no other member
            held, until = others if others and not alone and now < others[1] else (0, now)
            cap = view.cap(rate.amount - held)
            if cap <= 0:  # nothing until the window turns over (or another period: N > limit)
                wait = max(wait, until - now if held else rate.period)
            out.append(
                window if cap >= rate.amount else replace(window, rate=replace(rate, amount=cap))
            )
        if wait > 0:
            return windows, Admission(False, min(wait, self.recheck), "fleet share", False)
        return out, None

    def _others_at_outage(self, window: Window, now: float) -> tuple[int, float]:
        """What the rest of the fleet may hold in ``window`` at the outage, and until when:
        what this process saw the fleet hold at its last admission, less its own; if that
        reading was not fresh, whatever this process did not. Until the window has turned
        over since the outage began."""
        assert self.outage_at is not None
        rate = window.rate
        usage = self.shadow.usage(window, now)
        until = usage.resets_at if rate.calendar else self.outage_at + rate.period + self.margin
        seen = self._seen.get(window.key)
        fresh = seen is not None and self.outage_at - seen[1] <= FRESH
        fleet = min(seen[0], rate.amount) if seen is not None and fresh else rate.amount
        return max(fleet - usage.used, 0), until

    @property
    def pending(self) -> bool:
        """Whether admissions made alone wait for the replay."""
        return bool(self._alone)

    def take(self, now: float, offset: float) -> tuple[list[Replayed], Callable[[], None]]:
        """What was admitted alone, for the store's ``replay``, and how to put it back if
        the replay fails. Moving windows give every stamp the shadow still holds
        (``offset`` moves them to the store's clock), calendar windows the wall-clock
        moments of the outage's admissions and the shadow's count of the period."""
        with self._lock:
            taken, self._alone = self._alone, {}
        batch = []
        for window, made in taken.values():
            if window.rate.calendar:
                used = self.shadow.usage(window, now).used
                batch.append(Replayed(window, [wall for _, wall in made], len(made), used))
            else:
                held = self.shadow.entries(window, now)
                stamps = [t + offset for t in held]
                batch.append(Replayed(window, stamps, min(len(made), len(held)), len(held)))

        def put_back() -> None:
            with self._lock:
                for key, (window, made) in taken.items():
                    self._alone.setdefault(key, (window, []))[1][:0] = made

        return batch, put_back
