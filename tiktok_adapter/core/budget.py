"""Budget reports: what each window has left, read from the limiter's storage."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..exceptions import StorageUnavailable
from .headers import RateInfo
from .routes import Route
from .windows import StorageError, Store, Window


@dataclass(frozen=True)
class WindowBudget:
    """One window: its limit, what remains of it, and when (epoch s) the oldest use expires.

    ``limit`` is the configured limit and ``amount`` its amount; ``learned`` is the
    amount the window admits instead, when refusals taught that the server allows
    less (None otherwise), and ``remaining`` counts against that.
    """

    limit: str
    used: int
    remaining: int
    resets_at: float
    learned: int | None = None
    amount: int = 0


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


Adjust = Callable[[Route, tuple[Window, ...]], tuple[Window, ...]]


def window_budget(
    store: Store, window: Window, now: float, effective: Window | None = None
) -> WindowBudget:
    usage = store.usage(window, now)
    amount = effective.rate.amount if effective is not None else window.rate.amount
    learned = amount if amount != window.rate.amount else None
    remaining = max(amount - usage.used, 0)
    return WindowBudget(
        window.rate.text, usage.used, remaining, usage.resets_at, learned, window.rate.amount
    )


def _pairs(
    route: Route, windows: tuple[Window, ...], adjust: Adjust | None
) -> list[tuple[Window, Window]]:
    effective = adjust(route, windows) if adjust is not None else windows
    return list(zip(windows, effective, strict=True))


def take_budget(
    store: Store,
    app_windows: tuple[Window, ...],
    routes: list[Route],
    server_info: Mapping[str, RateInfo],
    now: float,
    adjust: Adjust | None = None,
    costs: bool = False,
) -> Budget:
    """Read every window; a store that cannot be reached raises StorageUnavailable.

    ``adjust`` turns a route's configured windows into its effective (learned) ones;
    with ``costs`` each endpoint's record windows are listed too.
    """
    app_keys = {w.key for w in app_windows}
    app_effective: dict[str, Window] = {}
    try:
        endpoints = {}
        for route in routes:
            pairs = _pairs(route, route.windows + (route.cost_windows if costs else ()), adjust)
            app_effective.update((w.key, e) for w, e in pairs if w.key in app_keys)
            endpoints[route.name] = EndpointBudget(
                route.name,
                tuple(window_budget(store, w, now, e) for w, e in pairs if w.key not in app_keys),
                max(store.blocked_until(key, now) for key in route.blocks) or None,
                server_info.get(route.name),
            )
        app = tuple(window_budget(store, w, now, app_effective.get(w.key)) for w in app_windows)
    except StorageError as exc:
        raise StorageUnavailable(
            f"rate-limit storage unavailable; cannot read the budget ({exc})",
            retry_after=0.0,
            endpoint="*",
            limit="storage",
        ) from None
    return Budget(app, endpoints, now)
