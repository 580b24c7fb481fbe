"""In-process window counting, guarded by one lock so threads never over-admit."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from ..core.clock import Clock
from ..core.forksafe import after_fork_in_child
from ..core.lateness import REDATE_REACH
from ..core.learning import LearnedPlace, LearningPolicy
from ..core.rates import cap_for
from ..core.stats import StorageHealth
from ..core.windows import ADMITTED, QUOTA_BLOCK, Admission, Store, Usage, Window
from .base import Backend, StoreOptions
from .learned import LocalLearned

# Idle windows (a per-token scope with many users) are swept this often, so memory
# stays bounded by the users active within the longest window.
_SWEEP_EVERY = 4096
# Admission plans kept at most (see MemoryStore._plans).
_PLANS = 256


class MemoryStore:
    """Moving windows as deques of admission times; calendar windows as one counter.

    `limits`' MemoryStorage checks and charges each item under its own lock, so two
    threads can both pass the check of one window before either charges it, and a
    refusal by the hour window cannot un-charge the minute window. Checking and
    charging every window of a request under one lock makes admission exact and
    all-or-nothing.

    Moving windows count on the caller's ``now`` (a monotonic reading); calendar
    windows (``@utc``) read ``clock``'s calendar, so that they reset at midnight UTC
    whatever the steady clock has drifted to.
    """

    def __init__(self, margin: float = 0.0, clock: Clock | None = None) -> None:
        self.margin = margin
        self.clock = clock
        # Looked up once: admission reads the calendar on every call.
        self._calendar_of = getattr(clock, "wall", None) or getattr(clock, "now", None)
        self._lock = threading.Lock()
        # A child forked while another thread held the lock would deadlock on it.
        after_fork_in_child(self, "_lock")
        self._moving: dict[str, deque[float]] = {}
        self._calendar: dict[str, tuple[int, int]] = {}
        self._spans: dict[str, float] = {}
        self._blocks: dict[str, float] = {}
        self._ops = 0
        # Plans for the common admission, by the windows tuple (a route's, held for as long
        # as the route): its moving logs with their caps, for windows of cost 1 that an
        # earlier admission at the full share charged. Cleared whenever a log is made,
        # replaced or dropped, so a plan never holds a log the store no longer counts in.
        self._plans: dict[int, tuple[Sequence[Window], tuple[tuple[deque[float], int], ...]]] = {}

    def acquire(
        self,
        windows: Sequence[Window],
        blocks: Sequence[str],
        now: float | None,
        share: float = 1.0,
    ) -> Admission:
        if now is None:
            raise ValueError("MemoryStore needs the caller's clock reading")
        with self._lock:
            plan = self._plans.get(id(windows))
            if plan is not None and plan[0] is windows and share >= 1.0 and not self._blocks:
                # The common case, no window full: charge each log, and nothing more.
                logs = plan[1]
                for log, cap in logs:
                    if len(log) >= cap:
                        break
                else:
                    for log, _ in logs:
                        log.append(now)
                    self._ops += 1
                    if self._ops % _SWEEP_EVERY == 0:
                        self._sweep(now, self._wall(now))
                    return ADMITTED
            # The calendar is read only for a calendar window (most routes have none).
            wall = None
            for window in windows:
                if window.rate.calendar:
                    wall = self._wall(now)
                    break
            if wall is None:
                wall = now
            # Check every window and block before charging any: all or nothing.
            wait, binding, calendar = 0.0, None, False
            for key in blocks if self._blocks else ():
                until = self._blocks.get(key, 0.0)
                if until > now and until - now > wait:
                    wait, calendar = until - now, key.startswith(QUOTA_BLOCK)
            for window in windows:
                rate = window.rate
                cap = rate.amount if share >= 1.0 else cap_for(rate, share)
                # A request that costs more than one (records) needs that many slots free.
                cost = min(window.cost, cap)
                if rate.calendar:
                    bucket = int(wall // rate.period)
                    held = self._calendar.get(window.key)
                    if held and held[0] == bucket and held[1] + cost > cap:
                        w = (bucket + 1) * rate.period + self.margin - wall
                        if w > wait:
                            wait, binding, calendar = w, window, True
                    continue
                times = self._moving.get(window.key)
                if times is None or len(times) + cost <= cap:
                    continue
                # The (cap - cost + 1)-th newest admission must leave before ``cost`` more fit.
                w = times[-(cap - cost + 1)] + rate.period + self.margin - now
                if w > wait:
                    wait, binding, calendar = w, window, False
            if wait > 0.0:
                if binding is None:
                    return Admission(False, wait, "server", calendar)
                return Admission(False, wait, binding.rate.text, calendar, binding.rate)
            for window in windows:
                rate = window.rate
                if rate.calendar:
                    bucket = int(wall // rate.period)
                    held = self._calendar.get(window.key)
                    count = held[1] if held and held[0] == bucket else 0
                    self._calendar[window.key] = (bucket, count + window.cost)
                    self._spans[window.key] = rate.period
                else:
                    times = self._moving.get(window.key)
                    if times is None:
                        times = self._moving[window.key] = deque(maxlen=rate.amount)
                        self._spans[window.key] = rate.period + self.margin
                        self._plans.clear()
                    elif times.maxlen is not None and times.maxlen < rate.amount:
                        # A learned amount was raised: keep the history, grow the log.
                        times = self._moving[window.key] = deque(times, maxlen=rate.amount)
                        self._plans.clear()
                    if window.cost == 1:
                        times.append(now)
                    else:
                        times.extend([now] * min(window.cost, rate.amount))
            self._ops += 1
            if self._ops % _SWEEP_EVERY == 0:
                self._sweep(now, self._wall(now))
            elif share >= 1.0:
                self._plan(windows)
            return ADMITTED

    def _plan(self, windows: Sequence[Window]) -> None:
        """Keep a plan for ``windows`` when all are moving windows of cost 1."""
        logs = []
        for window in windows:
            if window.rate.calendar or window.cost != 1:
                return
            logs.append((self._moving[window.key], window.rate.amount))
        if len(self._plans) >= _PLANS:
            self._plans.clear()  # per-token windows: a tuple per request, seldom seen again
        self._plans[id(windows)] = (windows, tuple(logs))

    def _wall(self, now: float) -> float:
        """The calendar time: ``clock``'s (as :func:`wall_time` reads it), else ``now``."""
        read = self._calendar_of
        return float(read()) if read is not None else now

    def release(self, windows: Sequence[Window], now: float) -> None:
        """Take back one admission that :meth:`acquire` made at ``now``.

        For a shadow of a shared store (see FallbackStore): the shared store refused,
        or failed, after this one had admitted.
        """
        with self._lock:
            wall = self._wall(now)
            for window in windows:
                rate = window.rate
                if rate.calendar:
                    held = self._calendar.get(window.key)
                    if held and held[0] == int(wall // rate.period) and held[1] > 0:
                        self._calendar[window.key] = (held[0], held[1] - 1)
                    continue
                times = self._moving.get(window.key)
                if times is None:
                    continue
                # The stamp is among the newest: search from the right, not the oldest end.
                for back, stamp in enumerate(reversed(times)):
                    if stamp == now:
                        del times[len(times) - 1 - back]
                        break

    def redate(
        self, windows: Sequence[Window], now: float, elapsed: float, shift: float,
        stamp: float | None = None,
    ) -> None:  # fmt: skip
        """Count the request admitted ``elapsed`` before ``now`` as admitted ``shift`` later
        in each moving window (its answer came back late; see ``core.lateness``). The
        entries are stamped on this store's clock, ``now``'s, so ``stamp`` says nothing more.

        The entry nearest that moment is moved (within ``REDATE_REACH``): a neighbour
        admitted microseconds apart stands for it as well, and a shadow store stamps
        its copy a moment after the shared store's clock was read.
        """
        stamp = now - elapsed
        with self._lock:
            for window in windows:
                times = self._moving.get(window.key)
                if window.rate.calendar or not times:
                    continue
                best, distance = -1, REDATE_REACH
                for back, entry in enumerate(reversed(times)):
                    gap = abs(entry - stamp)
                    if gap <= distance:
                        best, distance = len(times) - 1 - back, gap
                    elif entry < stamp:
                        break  # older still, and further off
                if best < 0:
                    continue
                moved = times[best] + shift
                del times[best]
                at = len(times)
                while at > 0 and times[at - 1] > moved:
                    at -= 1
                times.insert(at, moved)

    def refund(self, window: Window, amount: int, wall: float) -> None:
        """Give back ``amount`` of what a request reserved in a calendar window at ``wall``
        (the calendar time of its admission): nothing once that period has ended."""
        rate = window.rate
        if amount <= 0 or not rate.calendar:
            return
        with self._lock:
            held = self._calendar.get(window.key)
            if held and held[0] == int(wall // rate.period):
                self._calendar[window.key] = (held[0], max(held[1] - amount, 0))

    def calendar_time(self, now: float) -> float:
        """The calendar time this store's ``@utc`` windows count on, at ``now``."""
        return self._wall(now)

    def health(self) -> StorageHealth | None:
        return None  # in process: nothing to be unhealthy

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
                wall = self._wall(now)
                bucket = int(wall // rate.period)
                held = self._calendar.get(window.key)
                used = held[1] if held and held[0] == bucket else 0
                return Usage(used, now + (bucket + 1) * rate.period - wall)
            horizon = now - rate.period - self.margin
            live = [t for t in self._moving.get(window.key, ()) if t > horizon]
            resets = live[0] + rate.period + self.margin if live else now
            return Usage(len(live), resets)

    def entries(self, window: Window, now: float) -> list[float]:
        """The admission times still in a moving window, oldest first (for a replay)."""
        horizon = now - window.rate.period - self.margin
        with self._lock:
            return [t for t in self._moving.get(window.key, ()) if t > horizon]

    def _sweep(self, now: float, wall: float) -> None:
        self._plans.clear()
        for key, times in list(self._moving.items()):
            # A deque's last entry is its newest; once even that has left the
            # window, the key holds nothing that could refuse a request.
            if not times or times[-1] + self._spans[key] <= now:
                del self._moving[key], self._spans[key]
        for key, (bucket, _count) in list(self._calendar.items()):
            if (bucket + 1) * self._spans[key] <= wall:
                del self._calendar[key], self._spans[key]
        for key, until in list(self._blocks.items()):
            if until <= now:
                del self._blocks[key]

    def learned_place(self, key_prefix: str, policy: LearningPolicy) -> LearnedPlace:
        return LocalLearned()

    def close(self) -> None:
        # The windows live as long as the store: requests' Session.close() closes every
        # mounted adapter, and an adapter that outlives its session must keep counting.
        pass


def _open(options: StoreOptions) -> Store:
    return MemoryStore(margin=options.margin, clock=options.clock)


BACKEND = Backend("memory", frozenset({"memory"}), shared=False, open=_open)
