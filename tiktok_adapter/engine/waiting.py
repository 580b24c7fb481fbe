"""The sync wait loop before sending: ask the store, then do what the rules decide.

The rules (:mod:`tiktok_adapter.core.decide`) say send, wait or raise; this loop only
queues by priority, sleeps on the clock, and raises the transport's exception for a problem.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, NoReturn

from ..core.clock import Clock
from ..core.decide import Attempt, Cause, Problem, Raise, Rules, Send, Wait, iso, why_waiting
from ..core.events import Event, EventKind, Hooks
from ..core.forksafe import after_fork_in_child
from ..core.routes import Route
from ..core.stats import Counter, StatsRecorder
from ..core.windows import Admission, StorageError, Store, Window
from ..priority import Priority
from ..settings import Settings
from .gate import Gate, Queue

logger = logging.getLogger("tiktok_adapter")

_LONG_WAIT = 60.0
_MIN_SLEEP = 1e-6
# Quota warnings remembered per endpoint, so that each reset is announced once.
_WARNED_SIZE = 1024

# This thread's (or task's) last admission: the store, the windows, the clock reading
# before asking and the store's verdict, so that its answer can tell how late it came
# back and where its entries are (engine/late.py).
Admitted = tuple[Store, tuple[Window, ...], float, Admission]
ADMISSION: ContextVar[Admitted | None] = ContextVar("tiktok_adapter_admission", default=None)

# Builds the transport's own exception for a problem (requests' or httpx's flavour).
ErrorFactory = Callable[[Problem, Any], Exception]


class Admitter:
    """Queues a call by priority and sleeps until the store admits it, or raises.

    The ``attempt``'s deadline (from ``max_wait``) bounds the whole wait of a call: time
    queued behind other callers, window waits and server pauses together.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        stats: StatsRecorder,
        hooks: Hooks,
        *,
        rules: Rules,
        errors: ErrorFactory,
        pass_now: bool,
    ) -> None:
        self.store = store
        self.clock = clock
        self.stats = stats
        self.hooks = hooks
        self.rules = rules
        self.errors = errors
        self.shares = {p: settings.priority_shares[p.name.lower()] for p in Priority}
        self.pass_now = pass_now
        self.gates: dict[str, Gate] = {}
        self._gates_lock = threading.Lock()
        self._warned: dict[str, float] = {}
        # Waiters of the parent do not exist in a forked child; neither may their locks.
        after_fork_in_child(self, "_gates_lock")
        after_fork_in_child(self, "gates", dict)

    def admit(
        self,
        request: Any,
        route: Route,
        attempt: Attempt,
        windows: tuple[Window, ...],
        queue: str,
    ) -> float:
        """Block until every window admits the request; returns the seconds waited."""
        gate = self.gates.get(queue) if self.gates else None
        if gate is None or not gate.busy:
            verdict = self._acquire(request, route, attempt, windows)
            if verdict.admitted:
                self.stats.add(route.report, Counter.ADMITTED_AT_ONCE)
                return 0.0
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
        return self.admitted_after(route, started)

    def _wait(
        self,
        request: Any,
        route: Route,
        attempt: Attempt,
        windows: tuple[Window, ...],
        gate: Gate,
        ticket: tuple[int, int],
    ) -> None:
        started = self.clock.now()
        while True:
            if not gate.wait_turn(ticket, attempt.deadline, self.clock):
                self.queue_timed_out(request, route, attempt, gate, started)
            now = self.clock.now()
            verdict = self._acquire(request, route, attempt, windows, now)
            seconds = self.turn(request, route, attempt, verdict, gate, now)
            if seconds is None:
                return
            self.clock.sleep(seconds)

    # -- the steps both wait loops take (this one sleeps, the async one awaits) ----------

    def turn(
        self, request: Any, route: Route, attempt: Attempt, verdict: Admission, gate: Queue,
        now: float,
    ) -> float | None:  # fmt: skip
        """What the head of the queue does with the store's ``verdict``: None to send, else
        the seconds to sleep before asking again; raises when the rules give up."""
        decision = self.rules.admission(attempt, verdict, self.shares[attempt.level], now)
        if isinstance(decision, Send):
            return None
        if isinstance(decision, Raise):
            self._give_up(request, route, decision)
        assert isinstance(decision, Wait)
        gate.eta = now + decision.seconds
        self._announce(route, attempt.level, verdict, decision, now)
        # A refusal whose wait rounds to zero (Redis replies in whole microseconds) must
        # still move time on, or a clock that moves only by sleeping spins.
        return max(decision.seconds, _MIN_SLEEP)

    def queue_timed_out(
        self, request: Any, route: Route, attempt: Attempt, gate: Queue, started: float
    ) -> NoReturn:
        """``max_wait`` ran out while the call waited behind others in ``gate``."""
        now = self.clock.now()
        timeout = self.rules.queue_timeout(attempt, now - started, gate.eta,
                                           gate.waiting() - 1, now)  # fmt: skip
        self._give_up(request, route, timeout)

    def admitted_after(self, route: Route, started: float) -> float:
        """Count how a call that queued at ``started`` was admitted; the seconds it waited."""
        waited = max(self.clock.now() - started, 0.0)
        if waited > 0:
            self.stats.add(route.report, Counter.WAITED)
            self.stats.add(route.report, Counter.WAIT_SECONDS, waited)
        else:
            self.stats.add(route.report, Counter.ADMITTED_AT_ONCE)
        return waited

    def _give_up(self, request: Any, route: Route, decision: Raise) -> NoReturn:
        self.stats.add(route.report, Counter.REFUSALS)
        assert decision.problem is not None
        raise self.errors(decision.problem, request)

    def _announce(
        self, route: Route, level: Priority, verdict: Admission, wait: Wait, now: float
    ) -> None:
        """Log a long wait (a spent quota at WARNING, once per reset) and tell the hooks."""
        resets = iso(now + wait.seconds)
        if wait.cause is Cause.QUOTA:
            reset_at = round(now + wait.seconds)
            if self._warned.get(route.name) != reset_at:
                if len(self._warned) >= _WARNED_SIZE:
                    self._warned.clear()
                self._warned[route.name] = reset_at
                which = "server's quota" if verdict.limit == "server" else f"quota {verdict.limit}"
                logger.warning(
                    "%s: the %s is spent; sleeping %s until it resets at %s "
                    "(set max_wait to raise QuotaExhausted instead)",
                    route.name, which, _span(wait.seconds), resets,
                )  # fmt: skip
        elif wait.seconds > _LONG_WAIT:
            logger.info(
                "waiting %.0f s for %s: %s; it resets at %s",
                wait.seconds, route.name, why_waiting(verdict, level, self.shares[level]), resets,
            )  # fmt: skip
        self.hooks.emit(Event(EventKind.WAIT, route.report, level, wait.seconds, verdict.limit))

    def _acquire(
        self,
        request: Any,
        route: Route,
        attempt: Attempt,
        windows: tuple[Window, ...],
        now: float | None = None,
    ) -> Admission:
        if now is None:
            now = self.clock.now()
        try:
            verdict = self.store.acquire(
                windows, route.blocks, now if self.pass_now else None, self.shares[attempt.level]
            )
        except StorageError as exc:
            detail = str(exc)
        else:
            if verdict.admitted:
                ADMISSION.set((self.store, windows, now, verdict))
            return verdict
        self._give_up(request, route, self.rules.storage_down(attempt, detail, now))


def _span(seconds: float) -> str:
    """``seconds`` as "9 h 12 min" or "45 s", for a log line a person reads."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
