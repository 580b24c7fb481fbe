"""Usage counters per endpoint: cheap to bump on the hot path, frozen when read."""

from __future__ import annotations

import enum
import itertools
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType


class Counter(str, enum.Enum):
    """The counters kept per endpoint; each names a field of :class:`EndpointStats`."""

    SENT = "sent"
    ADMITTED_AT_ONCE = "admitted_at_once"
    WAITED = "waited"
    WAIT_SECONDS = "wait_seconds"
    RATE_LIMITED = "rate_limited"
    RETRIES = "retries"
    REFUSALS = "refusals"
    CACHE_HITS = "cache_hits"
    CACHE_MISSES = "cache_misses"


@dataclass(frozen=True)
class EndpointStats:
    """Counts for one endpoint (or the total); ``wait_seconds`` is the time spent waiting."""

    sent: int = 0
    admitted_at_once: int = 0
    waited: int = 0
    wait_seconds: float = 0.0
    rate_limited: int = 0
    retries: int = 0
    refusals: int = 0
    cache_hits: int = 0
    cache_misses: int = 0


@dataclass(frozen=True)
class StorageHealth:
    """How a shared store is doing, as one process sees it.

    ``degraded`` while the store does not answer (the process admits alone, at its share)
    or while some member of the fleet may be doing so (``fleet_settled`` is False).
    """

    degraded: bool
    answering: bool
    fleet_size: int
    fleet_settled: bool
    outages: int
    problem: str


@dataclass(frozen=True)
class Stats:
    """A snapshot of :meth:`TikTokAdapter.stats`."""

    endpoints: Mapping[str, EndpointStats]
    total: EndpointStats
    elapsed: float
    # Scopes ("app" or an endpoint) running below their configured limits, with the
    # fraction of them they run at (learned from refusals); empty when none is.
    learned: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # A shared store's health (None for memory://).
    storage: StorageHealth | None = None

    @property
    def requests_per_hour(self) -> float:
        """Requests sent per hour over the adapter's lifetime so far."""
        return self.total.sent * 3600.0 / self.elapsed if self.elapsed > 0 else 0.0

    def format(self) -> str:
        """A small plain-text table, one row per endpoint and one for the total."""
        head = ("endpoint", "sent", "at once", "waited", "wait s", "429s", "retries",
                "refused", "cache hit", "cache miss")  # fmt: skip
        rows = [head]
        for name, s in [*sorted(self.endpoints.items()), ("total", self.total)]:
            rows.append(
                (name, str(s.sent), str(s.admitted_at_once), str(s.waited),
                 f"{s.wait_seconds:.1f}", str(s.rate_limited), str(s.retries),
                 str(s.refusals), str(s.cache_hits), str(s.cache_misses))
            )  # fmt: skip
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                      enumerate(zip(row, widths, strict=True)))
            for row in rows
        ]  # fmt: skip
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"elapsed {self.elapsed:.1f} s, {self.requests_per_hour:.1f} requests/hour")
        if self.storage is not None and self.storage.degraded:
            why = self.storage.problem or "a member of the fleet was not heard from"
            lines.append(f"storage degraded: limiting at this process's share ({why})")
        for scope, factor in sorted(self.learned.items()):
            lines.append(f"learned: {scope} runs at {factor:.0%} of its configured limits")
        return "\n".join(lines)


_NAMES = tuple(c.value for c in Counter)

# Counting by one is ``next()`` on an ``itertools.count``: a single C call, which the GIL
# makes atomic, and a fifth of the cost of taking a lock (twice per request). Without a
# GIL (a free-threaded build) that is not atomic, and every count takes the lock.
_TICKS = getattr(sys, "_is_gil_enabled", lambda: True)()


def _value(ticks: itertools.count[int]) -> int:
    """How far ``ticks`` has counted (its repr, "count(5)": the one public way to read it)."""
    return int(repr(ticks)[6:-1])


class StatsRecorder:
    """Thread-safe counters, cheap to bump on the hot path.

    A count by one goes to the endpoint's tick counters, anything else (seconds waited)
    to its sums under a short lock; a snapshot adds the two.
    """

    def __init__(self, started: float) -> None:
        self.started = started
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, float]] = {}
        self._ticks: dict[str, dict[str, itertools.count[int]]] = {}

    def add(self, endpoint: str, counter: Counter, amount: float = 1) -> None:
        if amount == 1 and _TICKS:
            row = self._ticks.get(endpoint)
            if row is None:
                with self._lock:
                    row = self._ticks.setdefault(endpoint, {n: itertools.count() for n in _NAMES})
            next(row[counter._value_])  # not .value: a property, on the hot path
            return
        with self._lock:
            sums = self._counts.get(endpoint)
            if sums is None:
                sums = self._counts[endpoint] = dict.fromkeys(_NAMES, 0)
            sums[counter._value_] += amount

    def snapshot(self, now: float) -> Stats:
        with self._lock:
            rows = {name: dict(row) for name, row in self._counts.items()}
            ticks = {name: dict(row) for name, row in self._ticks.items()}
        for name, row in ticks.items():
            sums = rows.setdefault(name, dict.fromkeys(_NAMES, 0))
            for counter, counted in row.items():
                sums[counter] += _value(counted)
        names = [f.name for f in fields(EndpointStats)]
        per = {
            name: EndpointStats(**{k: (row[k] if k == "wait_seconds" else int(row[k]))
                                   for k in names})  # type: ignore[arg-type]
            for name, row in rows.items()
        }  # fmt: skip
        total = EndpointStats(**{k: sum(getattr(s, k) for s in per.values()) for k in names})
        return Stats(MappingProxyType(per), total, max(now - self.started, 0.0))
