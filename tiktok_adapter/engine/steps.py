"""The steps of admission that the sync and the async wait loops share.

The rules (:mod:`tiktok_adapter.core.decide`) say send, wait or raise; these steps turn
a store's verdict into that decision, count and announce it, and raise the transport's
exception for a problem. The loops (``waiting`` sleeps, ``awaiting`` awaits) only queue
by priority, call the store, and wait; each holds one :class:`Steps`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, NoReturn, Protocol

from ..core.clock import Clock
from ..core.decide import Attempt, Cause, Problem, Raise, Rules, Send, Wait, iso, why_waiting
from ..core.events import Event, EventKind, Hooks
from ..core.priority import Priority
from ..core.routes import Route
from ..core.stats import Counter, StatsRecorder
from ..core.windows import Admission, Store, Window
from ..settings import Settings

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

# What the last admission in this thread (or task) reserved in record windows: the
# limiter's id, the endpoint, the windows with their costs, and the calendar time. The
# response to that request refunds what did not come back (Limiter.observe).
Reserved = tuple[str, str, tuple[Window, ...], float]
RESERVED: ContextVar[Reserved | None] = ContextVar("tiktok_adapter_reserved", default=None)

# Builds the transport's own exception for a problem (requests' or httpx's flavour).
ErrorFactory = Callable[[Problem, Any], Exception]


def reserve(
    ident: str, store: Store, clock: Clock, route: Route, windows: tuple[Window, ...]
) -> None:
    """Keep what admitting ``windows`` reserved in ``route``'s record windows (``RESERVED``)
    for the limiter ``ident``, for its answer to refund what does not come back."""
    if not route.cost_windows:
        return
    keys = {w.key for w in route.cost_windows}
    reserved = tuple(w for w in windows if w.key in keys)
    RESERVED.set((ident, route.name, reserved, store.calendar_time(clock.now())))


class Queue(Protocol):
    """What the steps read of a queue of waiters, sync or async."""

    eta: float

    def waiting(self) -> int: ...


class Steps:
    """Verdict to decision, with the counting, logging and hooks that go with it.

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
        # A shared store on its own clock (Redis TIME) is not handed ours.
        self.pass_now = pass_now
        self._warned: dict[str, float] = {}

    def asked(self, attempt: Attempt, now: float) -> tuple[float | None, float]:
        """What the store's ``acquire`` takes besides the windows: ``now`` (or None) and
        the share of the windows the attempt's priority may use."""
        return (now if self.pass_now else None), self.shares[attempt.level]

    def answered(self, windows: tuple[Window, ...], now: float, verdict: Admission) -> Admission:
        """Keep an admission for its answer to read (``ADMISSION``); returns ``verdict``."""
        if verdict.admitted:
            ADMISSION.set((self.store, windows, now, verdict))
        return verdict

    def store_failed(
        self, request: Any, route: Route, attempt: Attempt, detail: str, now: float
    ) -> NoReturn:
        self.give_up(request, route, self.rules.storage_down(attempt, detail, now))

    def turn(
        self, request: Any, route: Route, attempt: Attempt, verdict: Admission, gate: Queue,
        now: float,
    ) -> float | None:  # fmt: skip
        """What the head of the queue does with the store's ``verdict``: None to send, else
        the seconds to wait before asking again; raises when the rules give up."""
        decision = self.rules.admission(attempt, verdict, self.shares[attempt.level], now)
        if isinstance(decision, Send):
            return None
        if isinstance(decision, Raise):
            self.give_up(request, route, decision)
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
        self.give_up(request, route, timeout)

    def at_once(self, route: Route) -> float:
        """Count a call admitted without waiting; 0 seconds waited."""
        self.stats.add(route.report, Counter.ADMITTED_AT_ONCE)
        return 0.0

    def admitted_after(self, route: Route, started: float) -> float:
        """Count how a call that queued at ``started`` was admitted; the seconds it waited."""
        waited = max(self.clock.now() - started, 0.0)
        if waited > 0:
            self.stats.add(route.report, Counter.WAITED)
            self.stats.add(route.report, Counter.WAIT_SECONDS, waited)
        else:
            self.stats.add(route.report, Counter.ADMITTED_AT_ONCE)
        return waited

    def give_up(self, request: Any, route: Route, decision: Raise) -> NoReturn:
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


def _span(seconds: float) -> str:
    """``seconds`` as "9 h 12 min" or "45 s", for a log line a person reads."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
