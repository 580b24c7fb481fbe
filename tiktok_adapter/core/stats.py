"""Usage counters per endpoint: cheap to bump on the hot path, frozen when read."""

from __future__ import annotations

import enum
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
class Stats:
    """A snapshot of :meth:`TikTokAdapter.stats`."""

    endpoints: Mapping[str, EndpointStats]
    total: EndpointStats
    elapsed: float
    # Scopes ("app" or an endpoint) running below their configured limits, with the
    # fraction of them they run at (learned from refusals); empty when none is.
    learned: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

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
        for scope, factor in sorted(self.learned.items()):
            lines.append(f"learned: {scope} runs at {factor:.0%} of its configured limits")
        return "\n".join(lines)


_NAMES = tuple(c.value for c in Counter)


class StatsRecorder:
    """Thread-safe counters; one short lock per event keeps the hot path cheap."""

    def __init__(self, started: float) -> None:
        self.started = started
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, float]] = {}

    def add(self, endpoint: str, counter: Counter, amount: float = 1) -> None:
        # acquire/release rather than `with`: the context protocol doubles the lock's cost,
        # and this runs twice per request.
        lock = self._lock
        lock.acquire()
        try:
            row = self._counts.get(endpoint)
            if row is None:
                row = self._counts[endpoint] = dict.fromkeys(_NAMES, 0)
            row[counter._value_] += amount  # not .value: a property, on the hot path
        finally:
            lock.release()

    def snapshot(self, now: float) -> Stats:
        with self._lock:
            rows = {name: dict(row) for name, row in self._counts.items()}
        names = [f.name for f in fields(EndpointStats)]
        per = {
            name: EndpointStats(**{k: (row[k] if k == "wait_seconds" else int(row[k]))
                                   for k in names})  # type: ignore[arg-type]
            for name, row in rows.items()
        }  # fmt: skip
        total = EndpointStats(**{k: sum(getattr(s, k) for s in per.values()) for k in names})
        return Stats(MappingProxyType(per), total, max(now - self.started, 0.0))
