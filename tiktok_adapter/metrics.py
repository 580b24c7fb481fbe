"""Prometheus metrics for an adapter (the optional ``prometheus`` extra)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from .core.events import Event, Hook
from .core.stats import Counter
from .exceptions import MissingDependency

if TYPE_CHECKING:
    from .core.budget import Budget
    from .core.stats import Stats


class Monitored(Protocol):
    """What is instrumented: the requests adapter, or an httpx transport."""

    def stats(self) -> Stats: ...

    def budget(self) -> Budget: ...

    def add_hook(self, name: str, hook: Hook) -> None: ...


_COUNTERS: dict[Counter, str] = {
    Counter.SENT: "Requests sent to the server",
    Counter.WAITED: "Requests that waited for a window",
    Counter.RATE_LIMITED: "Rate-limit refusals received from the server (429 or equivalent)",
    Counter.RETRIES: "Requests re-sent",
    Counter.REFUSALS: "Requests refused with RateLimitExceeded",
    Counter.CACHE_HITS: "Reads answered from the cache",
    Counter.CACHE_MISSES: "Reads that missed the cache",
}


def instrument(
    adapter: Monitored, registry: Any = None, *, namespace: str = "tiktok_adapter"
) -> Any:
    """Export the adapter's counters, wait times and remaining budget to Prometheus.

    ``adapter`` is a :class:`TikTokAdapter` or a ``tiktok_adapter.httpx`` transport.

    Counters and budget gauges are read from :meth:`TikTokAdapter.stats` and
    :meth:`TikTokAdapter.budget` at scrape time, so the request path pays nothing for
    them; only wait durations are observed as they happen. Returns the registry.
    """
    try:
        from prometheus_client import REGISTRY, Histogram
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependency(
            "tiktok_adapter.metrics needs prometheus_client: "
            "pip install 'tiktok-adapter[prometheus]'"
        ) from exc
    registry = REGISTRY if registry is None else registry

    class _Collector:
        def collect(self) -> Iterator[Any]:
            stats = adapter.stats()
            for counter, doc in _COUNTERS.items():
                name = counter.value
                family = CounterMetricFamily(f"{namespace}_{name}", doc, labels=["endpoint"])
                for endpoint, row in stats.endpoints.items():
                    family.add_metric([endpoint], getattr(row, name))
                yield family
            budget = adapter.budget()
            gauge = GaugeMetricFamily(
                f"{namespace}_budget_remaining",
                "Requests left in each window",
                labels=["endpoint", "window"],
            )
            for window in budget.app:
                gauge.add_metric(["app", window.limit], window.remaining)
            for endpoint, limits in budget.endpoints.items():
                for window in limits.windows:
                    gauge.add_metric([endpoint, window.limit], window.remaining)
            yield gauge
            yield from _limits(budget, stats, namespace, GaugeMetricFamily)

        def describe(self) -> Iterator[Any]:
            return iter(())

    registry.register(_Collector())
    waits = Histogram(
        f"{namespace}_wait_seconds",
        "Seconds a request waited for a window or a server block",
        ["endpoint"],
        registry=registry,
        buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 3600),
    )

    def observe_wait(event: Event) -> None:
        waits.labels(event.endpoint).observe(event.seconds)

    adapter.add_hook("on_wait", observe_wait)
    return registry


def _limits(budget: Budget, stats: Stats, namespace: str, gauge_type: Any) -> Iterator[Any]:
    """Each window's configured and effective (learned) amount, and each scope's factor."""
    limit = gauge_type(
        f"{namespace}_window_limit",
        "What each window admits: as configured, and in effect after learning from refusals",
        labels=["endpoint", "window", "source"],
    )
    rows = [("app", w) for w in budget.app]
    rows += [(name, w) for name, e in budget.endpoints.items() for w in e.windows]
    for endpoint, window in rows:
        limit.add_metric([endpoint, window.limit, "configured"], window.amount)
        effective = window.learned if window.learned is not None else window.amount
        limit.add_metric([endpoint, window.limit, "effective"], effective)
    yield limit
    learned = gauge_type(
        f"{namespace}_learned_ratio",
        "The fraction of its configured limits a scope runs at (1 when nothing is learned)",
        labels=["scope"],
    )
    for scope, factor in stats.learned.items():
        learned.add_metric([scope], factor)
    yield learned
