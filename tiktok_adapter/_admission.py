"""The wait loop before sending: ask the store, then sleep, queue or raise."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ._clock import Clock
from ._errors import queue_timeout, refused, utc, why_waiting
from ._events import Event, Hooks
from ._forksafe import after_fork_in_child
from ._gate import Gate
from ._limiter import Admission, StorageError, Store, Window
from ._routes import Route
from ._settings import Settings
from ._stats import StatsRecorder
from .exceptions import StorageUnavailable
from .priority import Priority

logger = logging.getLogger("tiktok_adapter")

# A window that resets further away than this is a quota (a day, a spent allowance),
# not a pause: a server's "Remaining: 0" with such a reset blocks as a quota.
QUOTA_HORIZON = 3600.0
_LONG_WAIT = 60.0
# Quota warnings remembered per endpoint, so that each reset is announced once.
_WARNED_SIZE = 1024


class Admitter:
    """Turns the store's "not yet, wait N s" into sleeping, queueing by priority, or raising.

    ``deadline`` (from ``max_wait``) bounds the whole wait of a call: time queued
    behind other callers, window waits and server pauses together.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        stats: StatsRecorder,
        hooks: Hooks,
        *,
        pass_now: bool,
    ) -> None:
        self.store = store
        self.clock = clock
        self.stats = stats
        self.hooks = hooks
        self.raise_on_limit = settings.on_limit == "raise"
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
        level: Priority,
        windows: tuple[Window, ...],
        queue: str,
        deadline: float | None = None,
    ) -> float:
        """Block until every window admits the request; returns the seconds waited."""
        gate = self.gates.get(queue)
        if gate is None or not gate.busy:
            verdict = self._acquire(request, route, windows, level)
            if verdict.admitted:
                self.stats.add(route.report, "admitted_at_once")
                return 0.0
        # Gates exist only while someone waits, so per-token queues of many users do
        # not pile up: the last waiter to leave removes its gate.
        with self._gates_lock:
            gate = self.gates.setdefault(queue, Gate())
            ticket = gate.join(level)
        started = self.clock.now()
        try:
            self._wait(request, route, windows, level, gate, ticket, deadline)
        finally:
            with self._gates_lock:
                gate.leave(ticket)
                if not gate.busy:
                    self.gates.pop(queue, None)
        waited = max(self.clock.now() - started, 0.0)
        if waited > 0:
            self.stats.add(route.report, "waited")
            self.stats.add(route.report, "wait_seconds", waited)
        else:
            self.stats.add(route.report, "admitted_at_once")
        return waited

    def _wait(
        self,
        request: Any,
        route: Route,
        windows: tuple[Window, ...],
        level: Priority,
        gate: Gate,
        ticket: tuple[int, int],
        deadline: float | None,
    ) -> None:
        started = self.clock.now()
        while True:
            if not gate.wait_turn(ticket, deadline, self.clock):
                now = self.clock.now()
                self.stats.add(route.report, "refusals")
                raise queue_timeout(request, route, now - started, max(gate.eta - now, 0.0),
                                    gate.waiting() - 1, now)  # fmt: skip
            now = self.clock.now()
            verdict = self._acquire(request, route, windows, level, now)
            if verdict.admitted:
                return
            if self.raise_on_limit or (deadline is not None and now + verdict.wait > deadline):
                self.stats.add(route.report, "refusals")
                raise refused(request, route, verdict, now, level, self.shares[level])
            gate.eta = now + verdict.wait
            self._announce(route, level, verdict, now)
            self.clock.sleep(verdict.wait)

    def _announce(self, route: Route, level: Priority, verdict: Admission, now: float) -> None:
        """Log a long wait (a spent quota at WARNING, once per reset) and tell the hooks."""
        resets = utc(now + verdict.wait).isoformat(timespec="seconds")
        if verdict.calendar:
            reset_at = round(now + verdict.wait)
            if self._warned.get(route.name) != reset_at:
                if len(self._warned) >= _WARNED_SIZE:
                    self._warned.clear()
                self._warned[route.name] = reset_at
                which = "server's quota" if verdict.limit == "server" else f"quota {verdict.limit}"
                logger.warning(
                    "%s: the %s is spent; sleeping %s until it resets at %s "
                    "(set max_wait to raise QuotaExhausted instead)",
                    route.name, which, _span(verdict.wait), resets,
                )  # fmt: skip
        elif verdict.wait > _LONG_WAIT:
            logger.info(
                "waiting %.0f s for %s: %s; it resets at %s",
                verdict.wait, route.name, why_waiting(verdict, level, self.shares[level]), resets,
            )  # fmt: skip
        self.hooks.emit("on_wait", Event("wait", route.report, level, verdict.wait, verdict.limit))

    def _acquire(
        self,
        request: Any,
        route: Route,
        windows: tuple[Window, ...],
        level: Priority,
        now: float | None = None,
    ) -> Admission:
        if now is None:
            now = self.clock.now()
        try:
            return self.store.acquire(
                windows, route.blocks, now if self.pass_now else None, self.shares[level]
            )
        except StorageError as exc:
            self.stats.add(route.report, "refusals")
            raise StorageUnavailable(
                f"rate-limit storage unavailable for {route.name} and "
                f"on_storage_error='raise'; nothing was sent ({exc})",
                retry_after=0.0,
                endpoint=route.name,
                limit="storage",
                request=request,
            ) from None


def _span(seconds: float) -> str:
    """``seconds`` as "9 h 12 min" or "45 s", for a log line a person reads."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
