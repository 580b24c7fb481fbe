"""Keep limits holding when the shared store is down: every admission is counted in process too."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from ..core.clock import Clock
from ..core.forksafe import after_fork_in_child
from ..core.windows import Admission, StorageError, Store, Usage, Window
from .memory import MemoryStore

logger = logging.getLogger(__name__)

# How long to stay on the fallback before asking the shared store again; short enough
# to rejoin the fleet's quota soon, long enough not to pay a timeout on every request.
RETRY_INTERVAL = 5.0


class FallbackStore:
    """A shared store with an in-process shadow that counts every admission of this process.

    The shadow is charged for each request this process admits, through the shared
    store or without it. While the shared store answers, a request must pass both: the
    shadow first (in process, microseconds), then the shared store, whose refusal takes
    the shadow's charge back. When the shared store stops answering, the shadow alone
    decides, and it starts with everything this process sent in its windows; when the
    store answers again, the shadow still vetoes, so what was sent during the outage
    keeps counting though the shared store never saw it. One process therefore never
    exceeds a limit across either switch; during an outage each process counts alone.

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
    ) -> None:
        self.primary = primary
        # Windows on the adapter's clock; the shared store's may run on its own (TIME).
        self.fallback = MemoryStore(margin=margin, clock=clock)
        self.clock = clock
        self.raise_errors = raise_errors
        self.retry_interval = retry_interval
        self._lock = threading.Lock()
        after_fork_in_child(self, "_lock")
        self._down_until = 0.0
        self.outages = 0

    @property
    def degraded(self) -> bool:
        return self._down_until > 0.0

    # use_primary, failed and recovered are the switch between the shared store and the
    # shadow; the async transport's store drives the same switch through them.
    def use_primary(self) -> bool:
        return self.raise_errors or self.clock.now() >= self._down_until

    def failed(self, exc: StorageError) -> None:
        if self.raise_errors:
            raise exc
        with self._lock:
            if not self.degraded:
                self.outages += 1
                logger.warning(
                    "shared rate-limit storage unavailable (%s); limiting in this "
                    "process only until it answers again",
                    exc,
                )
            self._down_until = self.clock.now() + self.retry_interval

    def recovered(self) -> None:
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    logger.warning("shared rate-limit storage is back; using it again")

    def acquire(
        self,
        windows: Sequence[Window],
        blocks: Sequence[str],
        now: float | None,
        share: float = 1.0,
    ) -> Admission:
        # ``now`` is None when the shared store keeps time; the shadow keeps ours.
        local_now = self.clock.now() if now is None else now
        local = self.fallback.acquire(windows, blocks, local_now, share)
        if not local.admitted or not self.use_primary():
            return local
        try:
            verdict = self.primary.acquire(windows, blocks, now, share)
        except StorageError as exc:
            self.fallback.release(windows, local_now)
            self.failed(exc)
            # The shared store may have taken a timeout to fail: stamp the request at
            # the moment it is sent, not at the moment it was first asked about.
            return self.fallback.acquire(windows, blocks, self.clock.now(), share)
        self.recovered()
        if not verdict.admitted:
            self.fallback.release(windows, local_now)
        return verdict

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

    def close(self) -> None:
        self.primary.close()
        self.fallback.close()
