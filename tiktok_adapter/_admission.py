"""The wait loop before sending: ask the store, then sleep, queue or raise."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ._clock import Clock
from ._errors import refused, utc
from ._events import Event, Hooks
from ._gate import Gate
from ._limiter import Admission, StorageError, Store, Window
from ._routes import Route
from ._settings import Settings
from ._stats import StatsRecorder
from .exceptions import StorageUnavailable
from .priority import Priority

logger = logging.getLogger("tiktok_adapter")

# A quota that resets at midnight should not silently park a worker for hours.
QUOTA_WAIT_CAP = 3600.0
_LONG_WAIT = 60.0


class Admitter:
    """Turns the store's "not yet, wait N s" into sleeping, queueing by priority, or raising."""

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
        self.max_wait = settings.max_wait
        self.shares = {p: settings.priority_shares[p.name.lower()] for p in Priority}
        self.pass_now = pass_now
        self.gates: dict[str, Gate] = {}
        self._gates_lock = threading.Lock()

    def admit(
        self,
        request: Any,
        route: Route,
        level: Priority,
        windows: tuple[Window, ...],
        queue: str,
    ) -> float:
        """Block until every window admits the request; returns the seconds waited."""
        gate = self.gates.get(queue)
        if gate is None or not gate.busy:
            verdict = self._acquire(request, route, windows, level)
            if verdict.admitted:
                self.stats.add(route.name, "admitted_at_once")
                return 0.0
        # Gates exist only while someone waits, so per-token queues of many users do
        # not pile up: the last waiter to leave removes its gate.
        with self._gates_lock:
            gate = self.gates.setdefault(queue, Gate())
            ticket = gate.join(level)
        try:
            waited = self._wait(request, route, windows, level, gate, ticket)
        finally:
            with self._gates_lock:
                gate.leave(ticket)
                if not gate.busy:
                    self.gates.pop(queue, None)
        if waited > 0:
            self.stats.add(route.name, "waited")
            self.stats.add(route.name, "wait_seconds", waited)
        else:
            self.stats.add(route.name, "admitted_at_once")
        return waited

    def _wait(
        self,
        request: Any,
        route: Route,
        windows: tuple[Window, ...],
        level: Priority,
        gate: Gate,
        ticket: tuple[int, int],
    ) -> float:
        waited = 0.0
        while True:
            gate.wait_turn(ticket)
            now = self.clock.now()
            verdict = self._acquire(request, route, windows, level, now)
            if verdict.admitted:
                return waited
            cap = self.max_wait
            if cap is None and verdict.calendar:
                cap = QUOTA_WAIT_CAP
            if self.raise_on_limit or (cap is not None and waited + verdict.wait > cap):
                self.stats.add(route.name, "refusals")
                raise refused(request, route, verdict, now)
            if verdict.wait > _LONG_WAIT:
                logger.info(
                    "waiting %.0f s for %s: limit %s resets at %s",
                    verdict.wait,
                    route.name,
                    verdict.limit,
                    utc(now + verdict.wait).isoformat(timespec="seconds"),
                )
            self.hooks.emit("on_wait", Event("wait", route.name, level, verdict.wait,
                                             verdict.limit))  # fmt: skip
            self.clock.sleep(verdict.wait)
            waited += verdict.wait

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
            self.stats.add(route.name, "refusals")
            raise StorageUnavailable(
                f"rate-limit storage unavailable for {route.name} and "
                f"on_storage_error='raise'; nothing was sent ({exc})",
                retry_after=0.0,
                endpoint=route.name,
                limit="storage",
                request=request,
            ) from None
