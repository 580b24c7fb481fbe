"""Keep every limit holding, fleet-wide, when the shared store is down.

Every admission is counted in process too, by a shadow. While the store cannot be
reached, each process admits alone, at most its share of each window (``fleet``), and
starts from what the fleet may already have sent; when the store is back, it first adds
what it sent alone to the shared windows (``RedisStore.replay``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace

from ..core.clock import Clock, wall_time
from ..core.forksafe import after_fork_in_child
from ..core.stats import StorageHealth
from ..core.windows import Admission, StorageError, StorageMisconfigured, Store, Usage, Window
from .fleet import FORGET, FleetView, Heartbeat, new_member, read_view
from .memory import MemoryStore

logger = logging.getLogger(__name__)

# How long to stay on the fallback before asking the shared store again; short enough
# to rejoin the fleet's quota soon, long enough not to pay a timeout on every request.
# The heartbeat asks sooner, off the request path.
RETRY_INTERVAL = 5.0
# How old this process's last view of a window may be at an outage for it to say what
# the rest of the fleet held; an older one says nothing, and the window counts as full.
FRESH = 1.0
_SEEN = 4096


class FallbackStore:
    """A shared store with an in-process shadow that counts every admission of this process.

    While the shared store answers and the fleet is settled, a request must pass both:
    the shadow first (in process, microseconds), then the shared store, whose refusal
    takes the shadow's charge back. When the store stops answering (at ``t0``), the
    shadow decides alone, on *capped* windows: this process's share of the limit
    (``FleetView.cap``). During the first period of each window after ``t0``, the rest
    of the fleet may already have used all of it that this process did not: the share is
    then taken of what this process itself held at ``t0``, so the fleet as a whole stays
    within the limit (the shares add up to the limit, and no window admits for others
    what they may have spent before the outage). When the store is back, what this process
    admitted alone is replayed into the shared windows, and the caps stay on until every
    member of the fleet is heard from again (``FleetView.settled``).

    With ``raise_errors`` the StorageError reaches the adapter instead, which turns it
    into StorageUnavailable and sends nothing.
    """

    def __init__(
        self,
        primary: Store,
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
        self.member = new_member()
        self.view = FleetView()
        self._outage_at: float | None = None
        # Per window key: what the rest of the fleet may hold, until when.
        self._others: dict[str, tuple[int, float]] = {}
        # Per window key: what the fleet held at this process's last admission, and when.
        self._seen: dict[str, tuple[int, float]] = {}
        # Per window key: the window, and the (now, wall) of each admission made alone.
        self._alone: dict[str, tuple[Window, list[tuple[float, float]]]] = {}
        self._heartbeat = Heartbeat(self.beat) if hasattr(primary, "heartbeat") else None

    @property
    def degraded(self) -> bool:
        return self._down_until > 0.0

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
                self._outage_at = self.clock.now()
                self._others.clear()
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
                if not self._down_until:
                    return
                self._replay()
                self._down_until = 0.0
                self.problem = ""
                logger.warning("shared rate-limit storage is back; using it again")

    def _inspect(self) -> None:
        """At first contact, once: a server setting that would lose windows (an eviction
        policy) is an ERROR with its fix, and in raise mode an error."""
        inspect = getattr(self.primary, "inspect", None)
        for problem in inspect() if inspect is not None else ():
            if problem != self.problem:
                logger.error("rate-limit storage storage_uri=%r: %s", self.shown, problem)
            self.problem = problem
            if self.raise_errors:
                raise StorageMisconfigured(problem)

    def _replay(self) -> None:
        """Add what this process admitted alone to the shared windows (called under the
        lock, once the store answered); a failure keeps it for the next try."""
        replay = getattr(self.primary, "replay", None)
        if replay is None or not self._alone:
            self._alone.clear()
            return
        offset = 0.0
        if getattr(self.primary, "use_storage_time", False):  # stamps on Redis's clock
            try:
                reply = self.primary.heartbeat(self.member, "ok", FORGET)  # type: ignore[attr-defined]
            except StorageError:
                return  # the next success replays
            offset = float(reply[0]) - self.clock.now()
        now = self.clock.now()
        batch = []
        for window, made in self._alone.values():
            if window.rate.calendar:
                batch.append((window, [wall for _, wall in made], len(made)))
            else:
                held = self.fallback.entries(window, now)
                batch.append((window, [t + offset for t in held], min(len(made), len(held))))
        try:
            replay(batch, now)
        except StorageError as exc:
            logger.warning("could not replay the outage's admissions: %s", exc)
            return
        self._alone.clear()

    def beat(self) -> None:
        """One heartbeat (the Heartbeat thread calls it): say we are alive, read the fleet,
        and, after an outage, come back as soon as the store answers."""
        state = "out" if self.degraded else "ok"
        try:
            reply = self.primary.heartbeat(self.member, state, FORGET)  # type: ignore[attr-defined]
        except StorageError:
            # Requests find an outage themselves; the heartbeat only finds the way back, so
            # that when an outage begins depends on requests alone (and on their clock).
            return
        self.view = read_view(reply, self.member)
        self.recovered()

    def _capped(
        self, windows: Sequence[Window], now: float
    ) -> tuple[Sequence[Window], Admission | None]:
        """``windows`` at this process's share, or the refusal when the share is none."""
        view, out = self.view, []
        wait = 0.0
        for window in windows:
            rate = window.rate
            others = self._others.get(window.key)
            if others is None and self._outage_at is not None:
                # The rest of the fleet holds what this process saw it hold at its last
                # admission, less its own; if that was not just before the outage, it
                # may hold whatever this process did not. Until the window has turned
                # over since the outage began.
                usage = self.fallback.usage(window, now)
                until = usage.resets_at if rate.calendar else (
                    self._outage_at + rate.period + self.margin)  # fmt: skip
                seen = self._seen.get(window.key)
                fresh = seen is not None and self._outage_at - seen[1] <= FRESH
                fleet = min(seen[0], rate.amount) if fresh else rate.amount  # type: ignore[index]
                others = self._others[window.key] = (max(fleet - usage.used, 0), until)
            alone = view.size == 1  # the heartbeat saw no other member
            held, until = others if others and not alone and now < others[1] else (0, now)
            cap = view.cap(rate.amount - held)
            if cap <= 0:  # nothing until the window turns over (or another period: N > limit)
                wait = max(wait, until - now if held else rate.period)
            out.append(
                window if cap >= rate.amount else replace(window, rate=replace(rate, amount=cap))
            )
        if wait > 0:
            return windows, Admission(False, wait, "fleet share", False)
        return out, None

    def _alone_acquire(
        self, windows: Sequence[Window], blocks: Sequence[str], now: float, share: float
    ) -> Admission:
        capped, refusal = self._capped(windows, now)
        if refusal is not None:
            return refusal
        verdict = self.fallback.acquire(capped, blocks, now, share)
        # Kept for the replay only while the store is down: a share kept while the fleet
        # settles goes through the store, which counts it already.
        if verdict.admitted and self.degraded:
            wall = wall_time(self.clock)
            with self._lock:
                for window in windows:
                    self._alone.setdefault(window.key, (window, []))[1].append((now, wall))
        return verdict

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
        if not self.use_primary():
            return self._alone_acquire(windows, blocks, local_now, share)
        if self.view.settled:
            local = self.fallback.acquire(windows, blocks, local_now, share)
        else:  # a member may be counting alone: stay within this process's share
            local = self._alone_acquire(windows, blocks, local_now, share)
        if not local.admitted:
            return local
        try:
            verdict = self.primary.acquire(windows, blocks, now, share)
        except StorageError as exc:
            self.fallback.release(windows, local_now)
            self.failed(exc)
            # The shared store may have taken a timeout to fail: stamp the request at
            # the moment it is sent, not at the moment it was first asked about.
            return self._alone_acquire(windows, blocks, self.clock.now(), share)
        self.recovered()
        self.saw(windows, verdict, local_now)
        if not verdict.admitted:
            self.fallback.release(windows, local_now)
        return verdict

    def saw(self, windows: Sequence[Window], verdict: Admission, now: float) -> None:
        """Note what the fleet held in each window when the store admitted (the async
        store calls it too)."""
        if verdict.held:
            seen = self._seen
            if len(seen) > _SEEN:
                seen.clear()  # per-token windows: keep memory bounded (a cleared one is "full")
            for window, held in zip(windows, verdict.held, strict=False):
                seen[window.key] = (int(held), now)

    def block(self, key: str, until: float, now: float) -> None:
        # The local copy keeps this process paused even if the write below is lost.
        self.fallback.block(key, until, now)
        if self.use_primary():
            try:
                self.primary.block(key, until, now)
            except StorageError as exc:
                self.failed(exc)

    def redate(self, windows: Sequence[Window], now: float, elapsed: float, shift: float) -> None:
        # ``now`` is our clock's: the shadow reads it as it is, and a shared store on its
        # own clock finds the entry ``elapsed`` before its own now.
        self.fallback.redate(windows, now, elapsed, shift)
        shared = getattr(self.primary, "redate", None)
        if shared is not None and self.use_primary():
            try:
                shared(windows, now, elapsed, shift)
            except StorageError as exc:
                self.failed(exc)

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
        if self._heartbeat is not None:
            self._heartbeat.ensure()

    def stop_heartbeat(self) -> None:
        """No heartbeat thread (tests call :meth:`beat` themselves, on the fake clock)."""
        if self._heartbeat is not None:
            self._heartbeat.stop()

    def close(self) -> None:
        self.stop_heartbeat()
        self.primary.close()
        self.fallback.close()
