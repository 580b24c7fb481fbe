"""The async wait loop before sending: the sync loop's steps, awaited instead of slept.

Every decision comes from the same :class:`~tiktok_adapter.core.decide.Rules`; the
logging, hooks and errors are the sync :class:`~tiktok_adapter.engine.waiting.Admitter`'s
own (this class extends it). Only queueing and waiting differ: a queue of tasks by
priority (:class:`AsyncGate`) and ``asyncio.sleep``, so a waiting task never blocks
the event loop. A task cancelled while it waits leaves its queue, and nothing was
charged: a store charges only in the one call that admits.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..core.clock import Clock
from ..core.decide import Attempt
from ..core.routes import Route
from ..core.stats import Counter
from ..core.windows import Admission, StorageError, Window
from ..engine.waiting import ADMISSION, Admitter
from ._common import asleep

if TYPE_CHECKING:
    from ..engine.limiter import Limiter


class AsyncStore(Protocol):
    """What async admission asks of a store; the same all-or-nothing acquire, awaited."""

    async def acquire(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float | None,
        share: float = 1.0,
    ) -> Admission: ...  # fmt: skip

    async def block(self, key: str, until: float, now: float) -> None: ...

    async def aclose(self) -> None: ...


class InProcess:
    """The limiter's in-process store, used from the event loop as it is.

    MemoryStore's critical section is pure computation under a threading lock held for
    microseconds, and nothing is awaited while it is held, so calling it from a task
    never blocks the loop for longer than a dict update; an asyncio lock would add a
    second lock without protecting anything more. Sharing the one store also keeps
    sync and async transports of a process on the same windows when they share it.
    """

    def __init__(self, store: Any) -> None:
        self.store = store

    async def acquire(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float | None,
        share: float = 1.0,
    ) -> Admission:  # fmt: skip
        verdict: Admission = self.store.acquire(windows, blocks, now, share)
        return verdict

    async def block(self, key: str, until: float, now: float) -> None:
        self.store.block(key, until, now)

    async def aclose(self) -> None:
        pass


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


class AsyncAdmitter(Admitter):
    """Queues a task by priority and awaits until the store admits it, or raises."""

    def __init__(self, limiter: Limiter, store: AsyncStore) -> None:
        sync = limiter.admitter
        super().__init__(
            limiter.store, limiter.clock, limiter.settings, limiter.recorder, limiter.hooks,
            rules=limiter.rules, errors=sync.errors, pass_now=limiter.pass_now,
        )  # fmt: skip
        self.astore = store
        self.queues: dict[str, AsyncGate] = {}

    async def admit_async(
        self, request: Any, route: Route, attempt: Attempt, windows: tuple[Window, ...],
        queue: str,
    ) -> float:  # fmt: skip
        """Wait until every window admits the request; returns the seconds waited."""
        gate = self.queues.get(queue)
        if gate is None or not gate.busy:
            verdict = await self._aacquire(request, route, attempt, windows)
            if verdict.admitted:
                self.stats.add(route.report, Counter.ADMITTED_AT_ONCE)
                return 0.0
            gate = self.queues.setdefault(queue, AsyncGate())
        ticket = gate.join(attempt.level)
        started = self.clock.now()
        try:
            await self._await_turns(request, route, attempt, windows, gate, ticket)
        finally:  # a cancelled task leaves the queue, and the next one takes the head
            gate.leave(ticket)
            if not gate.busy:
                self.queues.pop(queue, None)
        return self.admitted_after(route, started)

    async def _await_turns(
        self, request: Any, route: Route, attempt: Attempt, windows: tuple[Window, ...],
        gate: AsyncGate, ticket: tuple[int, int],
    ) -> None:  # fmt: skip
        started = self.clock.now()
        while True:
            if not await gate.wait_turn(ticket, attempt.deadline, self.clock):
                self.queue_timed_out(request, route, attempt, gate, started)
            now = self.clock.now()
            verdict = await self._aacquire(request, route, attempt, windows, now)
            seconds = self.turn(request, route, attempt, verdict, gate, now)
            if seconds is None:
                return
            await asleep(self.clock, seconds)

    async def _aacquire(
        self, request: Any, route: Route, attempt: Attempt, windows: tuple[Window, ...],
        now: float | None = None,
    ) -> Admission:  # fmt: skip
        if now is None:
            now = self.clock.now()
        try:
            verdict = await self.astore.acquire(
                windows, route.blocks, now if self.pass_now else None, self.shares[attempt.level]
            )
        except StorageError as exc:
            detail = str(exc)
        else:
            if verdict.admitted:
                ADMISSION.set((self.store, windows, now, verdict))
            return verdict
        self._give_up(request, route, self.rules.storage_down(attempt, detail, now))
