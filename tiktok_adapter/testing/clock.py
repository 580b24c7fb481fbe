"""Clocks for tests beyond the core's FakeClock: real time sped up, and a fake clock
that threads share.

:class:`ThreadedFakeClock` runs like a discrete-event simulation. A plain FakeClock moves
whenever any thread sleeps on it, so a request that another thread was admitted for,
and that is still on its way to the server, reaches the server as much later as that
whole sleep: a server on the same clock then refuses it now and then (1 or 2 in 1,200
requests, depending on how the threads were scheduled), which no real clock does.
Here time moves only when every registered thread waits (asleep on this clock, blocked
on a condition, an event, a queue or a join) or has finished, and then only to the
earliest wake-up, so no thread ever sees time jump while it runs.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import TypeVar

from ..core.clock import FakeClock
from ..core.errors import ConfigurationError

logger = logging.getLogger("tiktok_adapter")

T = TypeVar("T")

# A thread whose stack holds one of these waits for another thread: a condition's wait
# (Event, Semaphore, Barrier, queue.Queue and Future.result wait on one) or a join.
_WAITS: frozenset[CodeType] = frozenset(
    {threading.Condition.wait.__code__, threading.Thread.join.__code__}
)
# Real seconds between two looks at the threads while one runs. Real time only paces
# the looks; it decides nothing, since a waiting thread stays waiting until one runs.
_POLL = 0.001


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


class ThreadedFakeClock(FakeClock):
    """A FakeClock that threads share: time moves only when all of them wait.

    Run the threads with :meth:`run`, or register a thread you start yourself (a pool's,
    say) with ``with clock.worker():``. ``sleep(d)`` then returns once every other
    registered thread is asleep on this clock, blocked on a condition (an Event, a
    queue, a Future, the adapter's queue of waiters) or a join, or finished; time moves
    to the earliest wake-up among the sleepers, so sleepers wake in order and a request
    in flight never sees time jump. With no thread registered it behaves exactly as a
    FakeClock. :meth:`advance` and :meth:`set` still move time at once.

    A thread blocked where the clock cannot see it (a lock, a socket, ``time.sleep``)
    counts as running. If one stays so for ``stall_timeout`` real seconds while others
    sleep, time moves anyway, so a deadlock cannot happen: the clock logs a warning
    naming the thread and where it was, adds its name to ``stalls``, and leaves it out
    until it next reads or sleeps on the clock. ``assert not clock.stalls`` in a test
    shows that every wake-up came in order.
    """

    def __init__(self, start: float = 1_700_000_000.0, *, stall_timeout: float = 5.0) -> None:
        if not 0 < stall_timeout < float("inf"):
            raise ConfigurationError(
                f"stall_timeout={stall_timeout!r} must be a positive number of real "
                "seconds, such as 5.0"
            )
        super().__init__(start)
        self.stall_timeout = float(stall_timeout)
        self.stalls: list[str] = []
        self._start_threads()

    def _start_threads(self) -> None:
        # One lock with FakeClock's, so advance() and set() move time under it too.
        self._moved = threading.Condition(self._lock)
        self._workers: dict[threading.Thread, int] = {}  # registered -> nesting depth
        self._wakes: dict[int, float] = {}  # thread id -> wake-up time, while asleep
        self._excused: set[int] = set()  # stalled threads, until they touch the clock

    # -- time -----------------------------------------------------------------------

    def now(self) -> float:
        if self._excused:
            self._excused.discard(threading.get_ident())
        return self._now

    def sleep(self, seconds: float) -> None:
        me = threading.get_ident()
        with self._moved:
            self.sleeps.append(seconds)
            self._excused.discard(me)
            wake = self._now + max(seconds, 0.0)
            if wake <= self._now:
                return
            self._wakes[me] = wake
            try:
                self._wait_for(me, wake)
            finally:
                del self._wakes[me]
                self._moved.notify_all()  # the next sleeper may now be the earliest

    def advance(self, seconds: float) -> None:
        super().advance(seconds)  # under the lock the condition shares
        self._wake_sleepers()

    def set(self, timestamp: float) -> None:
        super().set(timestamp)
        self._wake_sleepers()

    def _wake_sleepers(self) -> None:
        with self._moved:
            self._moved.notify_all()

    def _wait_for(self, me: int, wake: float) -> None:
        # Called with the lock held. Only the earliest sleeper looks at the threads;
        # the others wait for time to move.
        running_since: dict[threading.Thread, float] = {}
        while self._now < wake:
            if wake > min(self._wakes.values()):
                running_since.clear()
                self._moved.wait(0.05)  # woken by notify_all; the timeout is a backstop
                continue
            running = self._running(me)
            if not running:
                self._move_to(wake)
                return
            real = time.monotonic()
            running_since = {t: running_since.get(t, real) for t in running}
            stuck = [t for t, since in running_since.items() if real - since >= self.stall_timeout]
            if stuck:
                self._stall(stuck, wake)
                return
            self._moved.wait(_POLL)

    def _move_to(self, wake: float) -> None:
        self._now = max(self._now, wake)
        self._moved.notify_all()

    def _running(self, me: int) -> list[threading.Thread]:
        """The registered threads that neither wait nor have finished."""
        frames = sys._current_frames()  # one consistent snapshot of every thread's stack
        running = []
        for thread in self._workers:
            ident = thread.ident
            if ident is None:  # registered by run() and not started yet
                running.append(thread)
            elif ident == me or ident in self._wakes or ident in self._excused:
                continue
            elif thread.is_alive() and not _waiting(frames.get(ident)):
                running.append(thread)
        return running

    def _stall(self, stuck: list[threading.Thread], wake: float) -> None:
        frames = sys._current_frames()
        where = ", ".join(f"{t.name} at {_place(frames.get(t.ident or 0))}" for t in stuck)
        self.stalls.extend(t.name for t in stuck)
        self._excused.update(t.ident for t in stuck if t.ident is not None)
        logger.warning(
            "ThreadedFakeClock: moving time to %.3f although %s neither slept on the clock "
            "nor waited for another thread for %.1f real seconds; left out until it next "
            "reads the clock (a thread blocked on a lock, a socket or time.sleep counts as "
            "running; register only the threads that send)",
            wake, where, self.stall_timeout,
        )  # fmt: skip
        self._move_to(wake)

    # -- threads ----------------------------------------------------------------------

    @contextmanager
    def worker(self) -> Iterator[None]:
        """Register the calling thread while the block runs (also a decorator).

        A thread counts from the moment it enters the block, so a pool's task that has
        not started yet does not hold the clock: it starts when it starts, later on the
        clock. :meth:`run` registers all its threads before any of them starts."""
        thread = threading.current_thread()
        self._register(thread)
        try:
            yield
        finally:
            self._unregister(thread)

    def run(self, targets: Iterable[Callable[[], T]]) -> list[T]:
        """Run each target in a registered thread of its own; wait for all of them.

        Returns the targets' results in order, or raises the first target's exception
        once every thread has finished."""
        calls = list(targets)
        results: dict[int, T] = {}
        errors: list[BaseException] = []

        def call(index: int) -> None:
            try:
                results[index] = calls[index]()
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)

        threads = [
            threading.Thread(target=call, args=(i,), name=f"fake-clock-{i}", daemon=True)
            for i in range(len(calls))
        ]
        for thread in threads:  # all at once: none may sleep before the others count
            self._register(thread)
        try:
            for thread in threads:
                thread.start()
        finally:
            for thread in threads:
                if thread.ident is not None:
                    thread.join()
                self._unregister(thread)
        if errors:
            raise errors[0]
        return [results[i] for i in range(len(calls))]

    def _register(self, thread: threading.Thread) -> None:
        with self._moved:
            self._workers[thread] = self._workers.get(thread, 0) + 1

    def _unregister(self, thread: threading.Thread) -> None:
        with self._moved:
            depth = self._workers.pop(thread) - 1
            if depth:
                self._workers[thread] = depth
            self._moved.notify_all()

    # -- copies -----------------------------------------------------------------------

    def __getstate__(self) -> dict[str, object]:
        # A copy keeps the time and the record, not the threads of this process.
        state = super().__getstate__()
        state.update(stall_timeout=self.stall_timeout, stalls=list(self.stalls))
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        super().__setstate__(state)
        self._start_threads()

    def __repr__(self) -> str:
        return f"ThreadedFakeClock(now={self._now!r}, workers={len(self._workers)})"


def _waiting(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code in _WAITS:
            return True
        frame = frame.f_back
    return False


def _place(frame: FrameType | None) -> str:
    if frame is None:
        return "no Python frame"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
