"""The async wait loop before sending: the sync loop's steps, awaited instead of slept.

Every decision comes from the same :class:`~.steps.Steps` as the sync loop's. Only
queueing and waiting differ: a queue of tasks by priority (:class:`AsyncGate`) and
:func:`asleep`, so a waiting task never blocks the event loop. A task cancelled while it
waits leaves its queue, and nothing was charged: a store charges only in the one call that
admits. Every async transport (httpx, aiohttp) uses this one loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any

from ..core.clock import Clock, SystemClock
from ..core.decide import Attempt
from ..core.routes import Route
from ..core.windows import Admission, StorageError, Window
from ..storage.base import AsyncStore
from .steps import Steps


async def asleep(clock: Clock, seconds: float) -> None:
    """Wait ``seconds`` on ``clock`` without blocking the event loop.

    The real clock waits with ``asyncio.sleep``; a clock with an ``asleep`` coroutine
    uses it; any other clock (a FakeClock) moves at once, and the task still yields.
    """
    own = getattr(clock, "asleep", None)
    if own is not None:
        await own(seconds)
    elif isinstance(clock, SystemClock):
        await asyncio.sleep(max(seconds, 0.0))
    else:
        clock.sleep(seconds)
        await asyncio.sleep(0)


class AsyncGate:
    """Tasks waiting for one endpoint: only the head asks the store; higher levels first."""

    __slots__ = ("_events", "_queue", "_seq", "eta")

    def __init__(self) -> None:
        self._queue: list[tuple[int, int]] = []
        self._events: dict[tuple[int, int], asyncio.Event] = {}
        self._seq = itertools.count()
        self.eta = 0.0

    @property
    def busy(self) -> bool:
        return bool(self._queue)

    def waiting(self) -> int:
        return len(self._queue)

    def join(self, level: int) -> tuple[int, int]:
        ticket = (-level, next(self._seq))
        self._events[ticket] = asyncio.Event()
        heapq.heappush(self._queue, ticket)
        return ticket

    async def wait_turn(self, ticket: tuple[int, int], deadline: float | None,
                        clock: Clock) -> bool:  # fmt: skip
        """Wait until ``ticket`` heads the queue; False once ``deadline`` passes first."""
        event = self._events[ticket]
        while self._queue[0] != ticket:
            event.clear()
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - clock.now()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return True

    def leave(self, ticket: tuple[int, int]) -> None:
        self._queue.remove(ticket)
        heapq.heapify(self._queue)
        del self._events[ticket]
        if self._queue:
            self._events[self._queue[0]].set()


class AsyncAdmitter:
    """Queues a task by priority and awaits until the store admits it, or raises."""

    def __init__(self, steps: Steps, store: AsyncStore) -> None:
        self.steps = steps
        self.clock = steps.clock
        self.astore = store
        self.queues: dict[str, AsyncGate] = {}

    async def admit_async(
        self, request: Any, route: Route, attempt: Attempt, windows: tuple[Window, ...],
        queue: str,
    ) -> float:  # fmt: skip
        """Wait until every window admits the request; returns the seconds waited."""
        gate = self.queues.get(queue)
        if gate is None or not gate.busy:
            verdict = await self._acquire(request, route, attempt, windows, self.clock.now())
            if verdict.admitted:
                return self.steps.at_once(route)
            gate = self.queues.setdefault(queue, AsyncGate())
        ticket = gate.join(attempt.level)
        started = self.clock.now()
        try:
            await self._await_turns(request, route, attempt, windows, gate, ticket)
        finally:  # a cancelled task leaves the queue, and the next one takes the head
            gate.leave(ticket)
            if not gate.busy:
                self.queues.pop(queue, None)
        return self.steps.admitted_after(route, started)

    async def _await_turns(
        self, request: Any, route: Route, attempt: Attempt, windows: tuple[Window, ...],
        gate: AsyncGate, ticket: tuple[int, int],
    ) -> None:  # fmt: skip
        steps, clock = self.steps, self.clock
        started = clock.now()
        while True:
            if not await gate.wait_turn(ticket, attempt.deadline, clock):
                steps.queue_timed_out(request, route, attempt, gate, started)
            now = clock.now()
            verdict = await self._acquire(request, route, attempt, windows, now)
            seconds = steps.turn(request, route, attempt, verdict, gate, now)
            if seconds is None:
                return
            await asleep(clock, seconds)

    async def _acquire(
        self, request: Any, route: Route, attempt: Attempt, windows: tuple[Window, ...],
        now: float,
    ) -> Admission:  # fmt: skip
        steps = self.steps
        passed, share = steps.asked(attempt, now)
        try:
            verdict = await self.astore.acquire(windows, route.blocks, passed, share)
        except StorageError as exc:
            steps.store_failed(request, route, attempt, str(exc), now)
        return steps.answered(windows, now, verdict)
