"""The sync wait loop before sending: ask the store, then do what the rules decide.

This loop only queues by priority (:class:`~.gate.Gate`), calls the store and sleeps on
the clock; the steps it shares with the async loop (``awaiting``) are :class:`~.steps.Steps`.
"""

from __future__ import annotations

import threading
from typing import Any

from ..core.decide import Attempt
from ..core.forksafe import after_fork_in_child
from ..core.routes import Route, RouteTable
from ..core.stats import Counter
from ..core.windows import Admission, StorageError, Window
from .gate import Gate
from .learner import Learner
from .steps import ADMISSION, Steps, reserve


class Admitter:
    """Queues a call by priority and sleeps until the store admits it, or raises.

    The limiter's ``admit`` is this object's :meth:`admit`: the sync hot path is one call
    from the transport to the store.
    """

    def __init__(self, steps: Steps, routes: RouteTable, learner: Learner, ident: str) -> None:
        self.steps = steps
        self.store = steps.store
        self.clock = steps.clock
        self.routes = routes
        self.learner = learner
        self.ident = ident  # the limiter's, for the records a Research query reserves
        self.gates: dict[str, Gate] = {}
        self._gates_lock = threading.Lock()
        # Waiters of the parent do not exist in a forked child; neither may their locks.
        after_fork_in_child(self, "_gates_lock")
        after_fork_in_child(self, "gates", dict)

    def admit(self, request: Any, route: Route, attempt: Attempt) -> float:
        """Block until every window admits the request, or raise; the seconds waited."""
        if route.cost is None and not route.scoped and self.learner.idle:
            # Most routes: their own windows, in their own queue (no call to build them).
            windows, queue = route.windows, route.name
        else:
            windows, queue = self.routes.windows_for(route, request)
        gate = self.gates.get(queue) if self.gates else None
        if gate is None or not gate.busy:
            # Nobody waits: ask once, as _acquire does, spelled out (once per request).
            steps, now = self.steps, self.clock.now()
            passed = now if steps.pass_now else None
            try:
                verdict = self.store.acquire(
                    windows, route.blocks, passed, steps.shares[attempt.level]
                )
            except StorageError as exc:
                steps.store_failed(request, route, attempt, str(exc), now)
            if verdict.admitted:
                ADMISSION.set((self.store, windows, now, verdict))
                steps.stats.add(route.report, Counter.ADMITTED_AT_ONCE)
                if route.cost_windows:
                    reserve(self.ident, self.store, self.clock, route, windows)
                return 0.0
        waited = self._queue(request, route, attempt, windows, queue)
        if route.cost_windows:
            reserve(self.ident, self.store, self.clock, route, windows)
        return waited

    def _queue(
        self,
        request: Any,
        route: Route,
        attempt: Attempt,
        windows: tuple[Window, ...],
        queue: str,
    ) -> float:
        """Wait in ``queue`` (by priority) until ``windows`` admit the request."""
        # Gates exist only while someone waits, so per-token queues of many users do
        # not pile up: the last waiter to leave removes its gate.
        with self._gates_lock:
            gate = self.gates.setdefault(queue, Gate())
            ticket = gate.join(attempt.level)
        started = self.clock.now()
        try:
            self._wait(request, route, attempt, windows, gate, ticket)
        finally:
            with self._gates_lock:
                gate.leave(ticket)
                if not gate.busy:
                    self.gates.pop(queue, None)
        return self.steps.admitted_after(route, started)

    def _wait(
        self,
        request: Any,
        route: Route,
        attempt: Attempt,
        windows: tuple[Window, ...],
        gate: Gate,
        ticket: tuple[int, int],
    ) -> None:
        steps, clock = self.steps, self.clock
        started = clock.now()
        while True:
            if not gate.wait_turn(ticket, attempt.deadline, clock):
                steps.queue_timed_out(request, route, attempt, gate, started)
            now = clock.now()
            verdict = self._acquire(request, route, attempt, windows, now)
            seconds = steps.turn(request, route, attempt, verdict, gate, now)
            if seconds is None:
                return
            clock.sleep(seconds)

    def _acquire(
        self, request: Any, route: Route, attempt: Attempt, windows: tuple[Window, ...],
        now: float,
    ) -> Admission:  # fmt: skip
        # Steps.asked and Steps.answered, spelled out.
        steps = self.steps
        passed = now if steps.pass_now else None
        try:
            verdict = self.store.acquire(windows, route.blocks, passed, steps.shares[attempt.level])
        except StorageError as exc:
            steps.store_failed(request, route, attempt, str(exc), now)
        if verdict.admitted:
            ADMISSION.set((self.store, windows, now, verdict))
        return verdict
