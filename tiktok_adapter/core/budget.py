"""Budget reports: what each window has left, read from the limiter's storage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..exceptions import StorageUnavailable
from .headers import RateInfo
from .routes import Route
from .windows import StorageError, Store, Window


@dataclass(frozen=True)
class WindowBudget:
    """One window: its limit, what remains of it, and when (epoch s) the oldest use expires."""

    limit: str
    used: int
    remaining: int
    resets_at: float


@dataclass(frozen=True)
class EndpointBudget:
    """An endpoint's own windows, any server block, and what the server last reported."""

    endpoint: str
    windows: tuple[WindowBudget, ...]
    blocked_until: float | None
    server: RateInfo | None


@dataclass(frozen=True)
class Budget:
    """A snapshot of :meth:`TikTokAdapter.budget`; on Redis it is the whole fleet's."""

    app: tuple[WindowBudget, ...]
    endpoints: Mapping[str, EndpointBudget]
    taken_at: float

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "taken_at": self.taken_at,
            "app": [asdict(w) for w in self.app],
            "endpoints": {name: asdict(e) for name, e in self.endpoints.items()},
        }


def window_budget(store: Store, window: Window, now: float) -> WindowBudget:
    usage = store.usage(window, now)
    remaining = max(window.rate.amount - usage.used, 0)
    return WindowBudget(window.rate.text, usage.used, remaining, usage.resets_at)


def take_budget(
    store: Store,
    app_windows: tuple[Window, ...],
    routes: list[Route],
    server_info: Mapping[str, RateInfo],
    now: float,
) -> Budget:
    """Read every window; a store that cannot be reached raises StorageUnavailable."""
    app_keys = {w.key for w in app_windows}
    try:
        endpoints = {
            route.name: EndpointBudget(
                route.name,
                tuple(window_budget(store, w, now) for w in route.windows
                      if w.key not in app_keys),
                max(store.blocked_until(key, now) for key in route.blocks) or None,
                server_info.get(route.name),
            )
            for route in routes
        }  # fmt: skip
        app = tuple(window_budget(store, w, now) for w in app_windows)
    except StorageError as exc:
        raise StorageUnavailable(
            f"rate-limit storage unavailable; cannot read the budget ({exc})",
            retry_after=0.0,
            endpoint="*",
            limit="storage",
        ) from None
    return Budget(app, endpoints, now)
