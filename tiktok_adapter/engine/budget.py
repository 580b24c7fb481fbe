"""Taking a budget: every window's usage, read from the limiter's storage."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..core.budget import Budget, EndpointBudget, WindowBudget
from ..core.headers import RateInfo
from ..core.routes import Route
from ..core.windows import StorageError, Store, Window
from ..exceptions import StorageUnavailable

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
