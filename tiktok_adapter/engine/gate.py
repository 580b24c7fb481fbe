"""Who goes first among callers waiting for one endpoint: higher priority, then arrival."""

from __future__ import annotations

import heapq
import itertools
import threading

from ..core.clock import Clock


class Gate:
    """An in-process queue of waiters; only the head may try to acquire.

    Without it, every sleeper wakes at the same slot boundary and the fastest thread,
    not the most urgent one, wins. Waiters that are not at the head block on a
    condition rather than on the clock, so a newcomer of higher priority is served at
    the next free slot. ``eta`` is when the head expects to be admitted, so a waiter
    that gives up in the queue can say when to try again.
    """

    __slots__ = ("_cond", "_queue", "_seq", "eta")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[tuple[int, int]] = []
        self._seq = itertools.count()
        self.eta = 0.0

    @property
    def busy(self) -> bool:
        return bool(self._queue)

    def join(self, level: int) -> tuple[int, int]:
        ticket = (-level, next(self._seq))
        with self._cond:
            heapq.heappush(self._queue, ticket)
        return ticket

    def wait_turn(
        self, ticket: tuple[int, int], deadline: float | None = None, clock: Clock | None = None
    ) -> bool:
        """Block until ``ticket`` heads the queue; False once ``deadline`` (on ``clock``)
        passes first. The condition's timeout is real time, so on a fake clock it is
        only a bound on how long to go without looking at the clock again."""
        with self._cond:
            while self._queue[0] != ticket:
                if deadline is None or clock is None:
                    self._cond.wait()
                    continue
                remaining = deadline - clock.now()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def leave(self, ticket: tuple[int, int]) -> None:
        with self._cond:
            self._queue.remove(ticket)
            heapq.heapify(self._queue)
            self._cond.notify_all()

    def waiting(self) -> int:
        return len(self._queue)
