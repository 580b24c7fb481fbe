"""Keep every limit holding, fleet-wide, when the shared store is down.

Every admission is counted in process too, by a shadow. While the store cannot be
reached, each process admits alone, at most its share of each window (``outage``), and
starts from what the fleet may already have sent; when the store is back, it first adds
what it sent alone to the shared windows (``RedisStore.replay``), and only then asks the
store again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from ..core.clock import Clock, wall_time
from ..core.forksafe import after_fork_in_child
from ..core.learning import LearnedPlace, LearningPolicy
from ..core.stats import StorageHealth
from ..core.windows import Admission, StorageError, StorageMisconfigured, Usage, Window
from .base import SharedStore
from .fleet import HEARTBEAT, FleetView
from .learned import WhileUp
from .membership import Membership
from .memory import MemoryStore
from .outage import OutageShare

logger = logging.getLogger(__name__)

# How long to stay on the fallback before asking the shared store again; short enough
# to rejoin the fleet's quota soon, long enough not to pay a timeout on every request.
# The heartbeat asks sooner, off the request path.
RETRY_INTERVAL = 5.0


class FallbackStore:
    """A shared store with an in-process shadow that counts every admission of this process.

    While the shared store answers and the fleet is settled, a request must pass both:
    the shadow first (in process, microseconds), then the shared store, whose refusal
    takes the shadow's charge back. When the store stops answering, the shadow decides
    alone, within this process's share (``OutageShare``). When the store answers again
    (the heartbeat, or a request once ``retry_interval`` has passed, asks), what this
    process admitted alone is first replayed into the shared windows; the share stays on
    until every member of the fleet is heard from again (``FleetView.settled``).

    The sync and the async store run one recipe: :meth:`admit_in_process`, then the
    shared store when it says so, then :meth:`answered_with` or :meth:`admit_after_failure`.

    With ``raise_errors`` the StorageError reaches the adapter instead, which turns it
    into StorageUnavailable and sends nothing.
    """

    def __init__(
        self,
        primary: SharedStore,
        clock: Clock,
        *,
        margin: float,
        raise_errors: bool,
        retry_interval: float = RETRY_INTERVAL,
        shown: str = "",
    ) -> None:
        self.primary = primary
        # Windows on the adapter's clock; the shared store's may run on its own (TIME).
        self.fallback = MemoryStore(margin=margin, clock=clock)
        self.clock = clock
        self.margin = margin
        self.raise_errors = raise_errors
        self.retry_interval = retry_interval
        self.shown = shown  # the storage URI without its password, for the logs
        self._lock = threading.Lock()
        after_fork_in_child(self, "_lock")
        self._down_until = 0.0
        self.outages = 0
        self.answered = False  # has the store ever answered this process?
        self.problem = ""  # the last failure, for stats() and status
        self._told = False
        self.share = OutageShare(self.fallback, margin, retry_interval)
        self.membership = Membership(primary, clock, self.beat, lambda: not self.degraded)

    @property
    def degraded(self) -> bool:
        return self._down_until > 0.0

    @property
    def view(self) -> FleetView:
        return self.share.view

    @property
    def member(self) -> str:
        """This process's name in the fleet."""
        return self.membership.name

    # use_primary, failed and recovered are the switch between the shared store and the
    # shadow; the async transport's store drives the same switch through them.
    def use_primary(self) -> bool:
        return self.raise_errors or self.clock.now() >= self._down_until

    def failed(self, exc: StorageError) -> None:
        self.problem = str(exc)
        never = not self.answered
        if self.raise_errors:
            if never and not isinstance(exc, StorageMisconfigured):
                hint = "check storage_uri: host, password, Sentinel service"
                raise StorageError(
                    f"{exc}; it has not answered since this adapter was built: {hint}"
                )
            raise exc
        if not self._told and (isinstance(exc, StorageMisconfigured) or never):
            self._told = True  # once: a setting to fix is not news on every request
            logger.error(
                "rate-limit storage storage_uri=%r %s: %s. Fix storage_uri (host, password, "
                "Sentinel service name) or the server; until then this process limits alone",
                self.shown, "has not answered since this adapter was built" if never else
                "cannot keep the windows", exc,
            )  # fmt: skip
        with self._lock:
            if not self.degraded:
                self.outages += 1
                self.share.began(self.clock.now())
                if self.answered and not isinstance(exc, StorageMisconfigured):
                    logger.warning(
                        "shared rate-limit storage unavailable (%s); this process limits "
                        "alone at its share (1/%d of each limit) until it answers again",
                        exc, self.view.size,
                    )  # fmt: skip
            self._down_until = self.clock.now() + self.retry_interval

    def recovered(self) -> None:
        if not self.answered:
            self._inspect()  # raises in raise mode, so the first request does too
            self.answered = True
        if self._down_until:
            with self._lock:
                if not self._down_until or not self._replay():
                    return
                self._down_until = 0.0
                self.problem = ""
                logger.warning("shared rate-limit storage is back; using it again")

    def _inspect(self) -> None:
        """At first contact, once: a server setting that would lose windows (an eviction
        policy) is an ERROR with its fix, and in raise mode an error."""
        for problem in self.primary.inspect():
            if problem != self.problem:
                logger.error("rate-limit storage storage_uri=%r: %s", self.shown, problem)
            self.problem = problem
            if self.raise_errors:
                raise StorageMisconfigured(problem)

    def _replay(self) -> bool:
        """Add what this process admitted alone to the shared windows (called under the
        lock, once the store answered); whether it is done (a failure keeps it)."""
        if not self.share.pending:
            return True
        offset = 0.0
        if self.primary.use_storage_time:  # stamps on Redis's clock
            try:
                offset = self.membership.store_now() - self.clock.now()
            except StorageError:
                return False
        now = self.clock.now()
        batch, put_back = self.share.take(now, offset)
        try:
            self.primary.replay(batch, now)
        except StorageError as exc:
            put_back()
            logger.warning("could not replay the outage's admissions: %s", exc)
            return False
        return True

    def beat(self) -> None:
        """One heartbeat (the Heartbeat thread calls it): say we are alive, read the fleet,
        and, after an outage, come back as soon as the store answers."""
        try:
            self.share.view = self.membership.beat("out" if self.degraded else "ok")
        except StorageError:
            # Requests find an outage themselves; the heartbeat only finds the way back, so
            # that when an outage begins depends on requests alone (and on their clock).
            return
        self.recovered()
        if not self.degraded:
            self._read_windows()

    def _read_windows(self) -> None:
        """Read again what the fleet holds in the windows this process used last, so that
        an outage finds a recent count even where this process has not admitted lately
        (its callers wait out a window, or it is idle)."""
        now = self.clock.now()
        for window in self.share.to_refresh(now, HEARTBEAT / 2):
            try:
                usage = self.primary.usage(window, now)
            except StorageError:
                return  # requests find the outage themselves
            self.share.read(window, usage.used, now)

    def asks_store(self, *, on_loop: bool = False) -> bool:
        """Whether a request asks the shared store now. After an outage the way back goes
        through the replay, so that the store counts what was admitted alone before it
        admits anything more: a sync request past ``retry_interval`` tries it itself; one
        on an event loop leaves it to the heartbeat thread (it calls Redis synchronously)."""
        if not self.use_primary():
            return False
        if self.degraded and not on_loop:
            self.beat()  # the replay, and the way back when the store answers
            if self.degraded:  # still down: not again before another interval
                self._down_until = self.clock.now() + self.retry_interval
        return not self.degraded

    def admit_in_process(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float, share: float,
        *, shared: bool,
    ) -> Admission:  # fmt: skip
        """The shadow's verdict, ahead of the shared store's when ``shared``. Alone, or
        while a member may be counting alone (the fleet not settled), within this
        process's share; alone, kept for the replay."""
        if shared and self.view.settled:
            return self.fallback.acquire(windows, blocks, now, share)
        wall = None if shared else wall_time(self.clock)
        return self.share.acquire(windows, blocks, now, share, wall)

    def admit_after_failure(
        self, windows: Sequence[Window], blocks: Sequence[str], local_now: float,
        share: float, exc: StorageError,
    ) -> Admission:  # fmt: skip
        """The shared store failed (raises in raise mode): the shadow's charge made at
        ``local_now`` goes back, and the request is decided alone, stamped now (the store
        may have taken a timeout to fail)."""
        self.fallback.release(windows, local_now)
        self.failed(exc)
        now = self.clock.now()
        verdict = self.admit_in_process(windows, blocks, now, share, shared=False)
        # Counted at ``now``, not when asked: a late answer looks for it there.
        return Admission(True, at=now) if verdict.admitted else verdict

    def answered_with(self, windows: Sequence[Window], verdict: Admission, now: float) -> None:
        """The shared store's verdict: what the fleet held is noted, and a refusal takes
        the shadow's charge back."""
        self.share.saw(windows, verdict, now)
        if not verdict.admitted:
            self.fallback.release(windows, now)

    def acquire(
        self,
        windows: Sequence[Window],
        blocks: Sequence[str],
        now: float | None,
        share: float = 1.0,
    ) -> Admission:
        self.ensure_heartbeat()
        # ``now`` is None when the shared store keeps time; the shadow keeps ours.
        local_now = self.clock.now() if now is None else now
        shared = self.asks_store()
        local = self.admit_in_process(windows, blocks, local_now, share, shared=shared)
        if not local.admitted or not shared:
            return local
        try:
            verdict = self.primary.acquire(windows, blocks, now, share)
        except StorageError as exc:
            return self.admit_after_failure(windows, blocks, local_now, share, exc)
        self.recovered()
        self.answered_with(windows, verdict, local_now)
        return verdict

    def block(self, key: str, until: float, now: float) -> None:
        # The local copy keeps this process paused even if the write below is lost.
        self.fallback.block(key, until, now)
        if self.use_primary():
            try:
                self.primary.block(key, until, now)
            except StorageError as exc:
                self.failed(exc)

    def redate(
        self, windows: Sequence[Window], now: float, elapsed: float, shift: float,
        stamp: float | None = None,
    ) -> None:  # fmt: skip
        # ``now`` is our clock's: the shadow reads it as it is, and a shared store finds the
        # entry at ``stamp``, its own (Admission.stamp), else ``elapsed`` before its now.
        self.fallback.redate(windows, now, elapsed, shift)
        if self.use_primary():
            try:
                self.primary.redate(windows, now, elapsed, shift, stamp)
            except StorageError as exc:
                self.failed(exc)

    def refund(self, window: Window, amount: int, wall: float) -> None:
        """Give reserved records back in the shadow and on the shared store; a failure
        there is only a WARNING (the records come back when the period ends)."""
        self.fallback.refund(window, amount, wall)
        if self.use_primary():
            try:
                self.primary.refund(window, amount, wall)
            except StorageError as exc:
                logger.warning("could not refund %d records on the shared store: %s", amount, exc)

    def calendar_time(self, now: float) -> float:
        return self.fallback.calendar_time(now)  # the shadow keeps the caller's calendar

    def blocked_until(self, key: str, now: float) -> float:
        local = self.fallback.blocked_until(key, now)
        if self.use_primary():
            try:
                return max(local, self.primary.blocked_until(key, now))
            except StorageError as exc:
                self.failed(exc)
        return local

    def usage(self, window: Window, now: float) -> Usage:
        if self.use_primary():
            try:
                return self.primary.usage(window, now)
            except StorageError as exc:
                self.failed(exc)
        return self.fallback.usage(window, now)

    def health(self) -> StorageHealth:
        """For stats(): whether the limiter counts alone, and why."""
        view = self.view
        return StorageHealth(
            degraded=self.degraded or not view.settled,
            answering=not self.degraded,
            fleet_size=view.size,
            fleet_settled=view.settled,
            outages=self.outages,
            problem=self.problem,
        )

    def ensure_heartbeat(self) -> None:
        """Start the heartbeat thread unless it runs; it also does the work on the store that
        must not run on an event loop (the first inspection, the replay, the way back)."""
        self.membership.heartbeat.ensure()

    def stop_heartbeat(self) -> None:
        """No heartbeat thread (tests call :meth:`beat` themselves, on the fake clock)."""
        self.membership.heartbeat.stop()

    def learned_place(self, key_prefix: str, policy: LearningPolicy) -> LearnedPlace:
        return WhileUp(self.primary.learned_place(key_prefix, policy), lambda: self.degraded)

    def close(self) -> None:
        """Close the clients (a store used again reconnects), and say this member left
        the fleet, so that the others need not wait for its silence (``fleet.LEFT``);
        used again, it beats again and rejoins."""
        self.membership.leave()
        self.primary.close()
        self.fallback.close()
