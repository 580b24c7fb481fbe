"""A fake clock that several threads share without giving a request a fake latency.

A plain FakeClock moves whenever any thread sleeps on it: a request another thread
had admitted, and that is still on its way to the (mocked) server, then reaches the
server as much later as that whole sleep, often a full window. No real request is in
flight that long, and the adapter is not meant to absorb it: a test on a plain FakeClock
shared by threads drew a 429 now and then, depending on how the threads were scheduled.

Here time moves only when every worker is parked: asleep on this clock, waiting on a
condition (the adapter's queue of waiters, an event), or finished. A worker that was
admitted and has not reached the server yet is running, so time never moves under it.
Sleepers wake in the order of their wake-up times, as on a real clock, so the verdicts
depend on neither machine load nor the scheduler.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from types import FrameType

from tiktok_adapter.testing import FakeClock

_WAIT = threading.Condition.wait.__code__


class ThreadedFakeClock(FakeClock):
    """A FakeClock for worker threads started by :meth:`run`; see the module doc."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        super().__init__(start)
        self._moved = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._wakes: dict[int, float] = {}  # thread id -> wake-up time, while asleep

    def sleep(self, seconds: float) -> None:
        me = threading.get_ident()
        with self._moved:
            self.sleeps.append(seconds)
            wake = self._now + max(seconds, 0.0)
            self._wakes[me] = wake
            try:
                while self._now < wake:
                    if wake <= min(self._wakes.values()) and self._all_parked(me):
                        self._now = wake
                        self._moved.notify_all()
                        break
                    # Real time only paces the look at the other workers; it decides
                    # nothing (a parked worker stays parked until someone runs).
                    self._moved.wait(0.001)
            finally:
                del self._wakes[me]

    def _all_parked(self, me: int) -> bool:
        frames = sys._current_frames()  # one consistent snapshot of every thread
        for worker in self._workers:
            ident = worker.ident
            if ident is None:  # about to start
                return False
            if ident == me or not worker.is_alive() or ident in self._wakes:
                continue
            if not _waiting(frames.get(ident)):
                return False
        return True

    def run(self, targets: Iterable[Callable[[], object]]) -> None:
        """Run each target in a worker thread of this clock; return when all are done."""
        threads = [threading.Thread(target=t) for t in targets]
        self._workers.extend(threads)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _waiting(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code is _WAIT:
            return True
        frame = frame.f_back
    return False
