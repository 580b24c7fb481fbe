"""Routes: the windows and block keys of one URL path, resolved once and cached."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from .costs import RecordCost
from .endpoints import EndpointTable, normalize_path
from .hosts import Host, HostKind, kinds_of
from .identity import RequestLike, scope_id
from .rates import Rate, parse_rates
from .windows import QUOTA_BLOCK, Window

_CACHE_SIZE = 4096
APP = "app"
# The one row that stats, hooks and metrics report every path outside the table under,
# so that a crawler of a million distinct paths keeps one row, not a million.
OTHER = "(other)"


@dataclass(frozen=True)
class Route:
    """Everything admission needs to know about one URL path.

    ``name`` is the table's path (or the request's own, for a path outside the table)
    and names the endpoint in errors and logs; ``report`` is the row it is counted
    under in stats, hooks and metrics.
    """

    name: str
    read_only: bool
    windows: tuple[Window, ...]
    blocks: tuple[str, ...]
    scoped: tuple[Rate, ...] = ()
    report: str = ""
    # What a request spends beyond itself (records), and the windows that count it.
    cost: RecordCost | None = None
    cost_windows: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        if not self.report:
            object.__setattr__(self, "report", self.name)


def window_key(scope: str, rate: Rate) -> str:
    return f"{scope}|{rate.amount}/{rate.period:g}{'@utc' if rate.calendar else ''}"


class RouteTable:
    """Maps request URLs to routes; the cache is keyed by the URL without its query."""

    def __init__(
        self,
        table: EndpointTable,
        app_limit: str | None,
        secret: bytes,
        app_counts: Callable[[str], bool] = lambda path: True,
        hosts: Iterable[Host] = (),
    ) -> None:
        self.table = table
        self.secret = secret
        self.app_counts = app_counts
        # Sandbox and upload hosts (core/hosts.py); any other host counts as production.
        self.kinds = kinds_of(hosts)
        rates = parse_rates(app_limit, "app_limit") if app_limit else ()
        self.app_windows = tuple(Window(window_key(APP, r), r) for r in rates)
        self._cache: dict[str, Route] = {}
        self._lock = threading.Lock()
        # Learned limits (the Learner's ``adjust``) turn the configured windows into the
        # effective ones here, so every transport that asks for windows gets them.
        self.adjust: Callable[[Route, tuple[Window, ...]], tuple[Window, ...]] | None = None
        # Whether record budgets are counted (the store must charge costs and refund).
        self.count_costs = True

    def resolve(self, url: str) -> Route:
        key = url.split("?", 1)[0]
        route = self._cache.get(key)
        if route is None:
            parts = urlsplit(key)
            host = (parts.hostname or "").rstrip(".") if self.kinds else ""
            kind = self.kinds.get(host)
            path = parts.path or "/"
            route = self._build(path) if kind is None else self._on(host, kind, path)
            with self._lock:
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = route
        return route

    def _build(self, path: str) -> Route:
        endpoint = self.table.match(path)
        name = endpoint.path if endpoint else normalize_path(path)
        counts = endpoint.counts_toward_app if endpoint else True
        windows = list(self.app_windows) if counts and self.app_counts(name) else []
        scoped: list[Rate] = []
        cost = endpoint.cost if endpoint is not None else None
        cost_windows: tuple[Window, ...] = ()
        if cost is not None:
            records = [replace(r, text=f"{r.text} records")
                       for r in parse_rates(cost.limit, f"cost[{name!r}]")]  # fmt: skip
            cost_windows = tuple(Window(window_key(f"records:{cost.pool}", r), r) for r in records)
        if endpoint is not None:
            for r in parse_rates(endpoint.limits, f"limits[{endpoint.path!r}]"):
                if r.scope == "app":
                    windows.append(Window(window_key(name, r), r))
                else:
                    scoped.append(r)
        return Route(
            name=name,
            read_only=endpoint.read_only if endpoint else False,
            windows=tuple(windows),
            blocks=("ep:" + name, QUOTA_BLOCK + name),
            scoped=tuple(scoped),
            report=name if endpoint else OTHER,
            cost=cost,
            cost_windows=cost_windows,
        )

    def _on(self, host: str, kind: HostKind, path: str) -> Route:
        """A route on a sandbox or upload host: its own names, so that its windows, blocks,
        learned limits and stats never mix with production's."""
        if kind is HostKind.UPLOAD:
            name = host + normalize_path(path)
            return Route(name, False, (), ("ep:" + host, QUOTA_BLOCK + host), report=host)
        route = self._build(path)
        name = host + route.name

        def own(window: Window) -> Window:
            return replace(window, key=host + "|" + window.key)

        return replace(
            route, name=name, windows=tuple(own(w) for w in route.windows),
            blocks=("ep:" + name, QUOTA_BLOCK + name),
            report=host + route.report if route.report != OTHER else f"{host} {OTHER}",
            cost_windows=tuple(own(w) for w in route.cost_windows),
        )  # fmt: skip

    def windows_for(self, route: Route, request: RequestLike) -> tuple[tuple[Window, ...], str]:
        """The windows this request is counted in, and the queue it waits in.

        Per-token and per-account windows are keyed by a keyed hash of the identity,
        and each identity waits in a queue of its own, so one user's spent quota
        never holds another user back.
        """
        adjust = self.adjust
        costs = self.costs_of(route, request) if route.cost is not None else ()
        if not route.scoped:
            windows = route.windows + costs if costs else route.windows
            return (windows if adjust is None else adjust(route, windows)), route.name
        ids = {r.scope: scope_id(request, r.scope, self.secret) for r in route.scoped}
        extra = tuple(
            Window(window_key(f"{route.name}#{r.scope}:{ids[r.scope]}", r), r) for r in route.scoped
        )
        gate = route.name + "#" + ",".join(f"{k}:{v}" for k, v in sorted(ids.items()))
        windows = route.windows + extra + costs
        return (windows if adjust is None else adjust(route, windows)), gate

    def costs_of(self, route: Route, request: RequestLike) -> tuple[Window, ...]:
        """The record windows of ``request``, each charging what the request reserves."""
        if route.cost is None or not self.count_costs:
            return ()
        amount = route.cost.reserve(request.body)
        return tuple(replace(w, cost=min(amount, w.rate.amount)) for w in route.cost_windows)

    def known_routes(self) -> list[Route]:
        """A route for every row of the table, for budget reports."""
        return [self._build(e.path) for e in self.table]
