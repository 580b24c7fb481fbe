"""The Learner: applies learned limits to the windows of each request, and learns from answers.

The effective windows are built here, before the store sees them: the store's admission
(the Redis Lua script included) takes each window's amount as an argument, so a learned
amount needs no change to admission, and the window keeps its key (and its history).
What is learned is shared through :class:`SharedLearned` (a dict in process, a Redis
hash for a fleet) and read back at most every ``cache_for`` seconds, so admission stays
one round trip to the store almost always.

This is the part with state and I/O (the store's usage, the shared values, a thread that
refreshes them); what a refusal or an answer changes is decided by plain functions of
:mod:`tiktok_adapter.core.learning`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from types import MappingProxyType

from ..core.clock import Clock, wall_time
from ..core.forksafe import after_fork_in_child
from ..core.learning import (
    APP_SCOPE,
    UNLEARNED,
    Learned,
    LearnedPlace,
    LearningPolicy,
    RefusalScope,
    busy,
    confirmed,
    cooldown_of,
    describe,
    lowered,
    raise_due,
    raised,
    reading,
    scaled_rate,
    scope_windows,
)
from ..core.routes import Route
from ..core.windows import StorageError, Store, Window

logger = logging.getLogger("tiktok_adapter")

# How often one process may read usage to decide a raise that is due.
_CHECK_EVERY = 1.0
_CACHE_SIZE = 4096
_RETRY_AFTER_ERROR = 5.0


class Learner:
    """Learned factors per scope, applied to windows, lowered on refusals, raised slowly."""

    def __init__(
        self,
        policy: LearningPolicy,
        shared: LearnedPlace,
        store: Store,
        clock: Clock,
        app_keys: frozenset[str],
    ) -> None:
        self.policy = policy
        self.shared = shared
        self.store = store
        self.clock = clock
        self.app_keys = app_keys
        self._lock = threading.Lock()
        self._values: Mapping[str, Learned] = MappingProxyType({})
        self._version = 0
        self._loaded_at = -math.inf
        self._next_check: dict[str, float] = {}
        # When each scope was last refused here: one refusal is a pause, two are a limit.
        self._refused_at: dict[str, float] = {}
        self._loaded = False
        # A dict in process changes only through this learner, which keeps its copy
        # current: once read, it is never read again (no clock reading per request).
        self._in_process = not shared.remote
        self._generation = 0
        # One background refresh at a time; a forked child starts with none running.
        self._refreshing = False
        after_fork_in_child(self, "_lock")
        after_fork_in_child(self, "_refreshing", bool)
        self._scaled: dict[int, tuple[tuple[Window, ...], int, tuple[Window, ...]]] = {}
        # True while the hot path has nothing to ask of this learner: learning is off, or
        # the in-process values are read and empty. A plain attribute, so that the common
        # request pays one attribute read here instead of three calls (adjust, values, due).
        self.idle = not policy.enabled

    # -- the hot path ---------------------------------------------------------------------

    def adjust(self, route: Route, windows: tuple[Window, ...]) -> tuple[Window, ...]:
        """``windows`` at the learned rates; the same tuple when nothing is learned."""
        if not self.policy.enabled:
            return windows
        values = self.values()
        if not values:
            return windows
        # A route's tuple is built once, so the scaled copy is kept: a store that caches
        # its work per tuple (Redis' encoded plans) keeps its cache.
        version = self._version
        cached = self._scaled.get(id(windows))
        if cached is not None and cached[0] is windows and cached[1] == version:
            return cached[2]
        out = tuple(self._scale(route, w, values) for w in windows)
        if all(a is b for a, b in zip(out, windows, strict=True)):
            out = windows
        if len(self._scaled) >= _CACHE_SIZE:
            self._scaled.clear()
        self._scaled[id(windows)] = (windows, version, out)
        return out

    def values(self) -> Mapping[str, Learned]:
        """Every scope's learned state. The first call reads the shared store; later ones
        return the copy at once and refresh a stale one in the background, so a request
        never waits on that read (a frozen store would cost it a timeout)."""
        if self._in_process and self._loaded:
            return self._values
        now = self.clock.now()
        if now < self._loaded_at + self.policy.cache_for:
            return self._values
        with self._lock:
            if now < self._loaded_at + self.policy.cache_for or self._refreshing:
                return self._values
            self._loaded_at = now
            # A dict in process is read here; a store's round trip in the background.
            first = not self._loaded or not self.shared.remote
            self._loaded = True
            if not first:
                self._refreshing = True
        if first:
            self._load(now)
            self._settle_idle()
        else:
            threading.Thread(target=self._refresh, args=(now,), daemon=True).start()
        return self._values

    def _refresh(self, now: float) -> None:
        try:
            self._load(now)
        finally:
            self._refreshing = False

    def _load(self, now: float) -> None:
        generation = self._generation
        try:
            loaded = self.shared.load()
        except StorageError as exc:
            # Not again for a while: a store that is down costs each try a timeout.
            self._loaded_at = now + _RETRY_AFTER_ERROR
            logger.debug("could not read the learned limits: %s", exc)
            return
        with self._lock:
            # A change this process made meanwhile is newer than what was read.
            if generation == self._generation:
                self._set({k: v for k, v in loaded.items() if v.factor < 1.0})

    def _set(self, values: dict[str, Learned]) -> None:
        if values != dict(self._values):
            self._values = MappingProxyType(values)
            self._version += 1
        self._settle_idle()

    def _settle_idle(self) -> None:
        # A shared place is never idle: reading it (values()) is what refreshes it.
        self.idle = not self.policy.enabled or (
            self._in_process and self._loaded and not self._values
        )

    def _scale(self, route: Route, window: Window, values: Mapping[str, Learned]) -> Window:
        if window.rate.calendar:
            return window
        state = values.get(self._scope_of(route, window))
        if state is None:
            return window
        rate = scaled_rate(window.rate, state.factor)
        return window if rate is window.rate else Window(window.key, rate)

    def _scope_of(self, route: Route, window: Window) -> str:
        return APP_SCOPE if window.key in self.app_keys else route.name

    # -- after the server answered ----------------------------------------------------------

    def refused(self, route: Route, scope: RefusalScope, now: float) -> None:
        """A rate refusal: lower the scope the refusal names (or the one the route has)."""
        if not self.policy.enabled:
            return
        name, windows = scope_windows(route, scope, self.app_keys)
        if not windows:
            return
        wall = wall_time(self.clock)
        current = self.values().get(name, UNLEARNED)
        cooldown = cooldown_of(windows)
        previous = self._refused_at.get(name, -math.inf)
        if len(self._refused_at) >= _CACHE_SIZE:
            self._refused_at.clear()
        self._refused_at[name] = wall
        try:
            used = [(w.rate, self.store.usage(w, now).used) for w in windows]
        except StorageError:
            used = []
        if not confirmed(current, used, wall - previous, cooldown, self.policy):
            return
        state = lowered(current, reading(used), wall, cooldown, self.policy)
        if state is None:
            return
        try:
            state = self.shared.lower(name, state)
        except StorageError as exc:
            logger.debug("could not share the learned limit of %s: %s", name, exc)
        self._store_local(name, state)
        logger.warning(
            "%s: the server refused below the configured limit; running at %s (learned)",
            name, describe(windows, state.factor),
        )  # fmt: skip

    def due(self, route: Route) -> bool:
        """Whether ``accepted`` would do more than look for ``route``: a scope of it is due
        a raise and was not checked within the last second. No store is asked, so the
        caller may decide here whether to run ``accepted`` elsewhere (off an event loop)."""
        if not self.policy.enabled or not route.read_only:
            return False
        values = self.values()
        if not values:
            return False
        wall = wall_time(self.clock)
        name = route.name
        return self._due(values.get(name), name, wall) or self._due(
            values.get(APP_SCOPE), APP_SCOPE, wall
        )

    def _due(self, state: Learned | None, scope: str, wall: float) -> bool:
        return (
            state is not None
            and raise_due(state, wall, self.policy)
            and wall >= self._next_check.get(scope, -math.inf)
        )

    def accepted(self, route: Route, now: float) -> None:
        """An accepted request: raise a scope one step when a raise is due and it is busy.

        Only read-only requests probe: a write never carries the risk of a refusal.
        """
        if not self.policy.enabled or not route.read_only:
            return
        values = self.values()
        if not values:
            return
        wall = wall_time(self.clock)
        for scope in (route.name, APP_SCOPE):
            state = values.get(scope)
            if state is None or not self._due(state, scope, wall):
                continue
            self._next_check[scope] = wall + _CHECK_EVERY
            name, windows = scope_windows(
                route, "app" if scope == APP_SCOPE else "endpoint", self.app_keys
            )
            if name != scope or not windows or not self._busy(windows, state, now):
                continue
            smallest = min(w.rate.amount for w in windows)
            new = raised(state, smallest, wall, self.policy)
            try:
                if not self.shared.swap(scope, state.factor, new):
                    self._loaded_at = -math.inf  # another process changed it: read again
                    continue
            except StorageError:
                pass
            self._store_local(scope, new)
            logger.info("%s: probing upward, now %s", scope, describe(windows, new.factor))

    def _busy(self, windows: tuple[Window, ...], state: Learned, now: float) -> bool:
        try:
            for w in windows:
                if busy(w.rate, self.store.usage(w, now).used, state.factor):
                    return True
        except StorageError:
            return False
        return False

    def _store_local(self, scope: str, state: Learned) -> None:
        with self._lock:
            self._generation += 1
            values = dict(self._values)
            if state.factor < 1.0:
                values[scope] = state
            else:
                values.pop(scope, None)
            self._set(values)
