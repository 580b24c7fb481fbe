"""Routes: the windows and block keys of one URL path, resolved once and cached."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._endpoints import EndpointTable, normalize_path
from ._limiter import Rate, Window, parse_rates

_CACHE_SIZE = 4096
APP = "app"


@dataclass(frozen=True)
class Route:
    """Everything admission needs to know about one URL path."""

    name: str
    read_only: bool
    windows: tuple[Window, ...]
    blocks: tuple[str, ...]


def window_key(scope: str, rate: Rate) -> str:
    return f"{scope}|{rate.amount}/{rate.period:g}{'@utc' if rate.calendar else ''}"


class RouteTable:
    """Maps request URLs to routes; the cache is keyed by the URL without its query."""

    def __init__(self, table: EndpointTable, app_limit: str | None) -> None:
        self.table = table
        rates = parse_rates(app_limit, "app_limit") if app_limit else ()
        self.app_windows = tuple(Window(window_key(APP, r), r) for r in rates)
        self._cache: dict[str, Route] = {}
        self._lock = threading.Lock()

    def resolve(self, url: str) -> Route:
        key = url.split("?", 1)[0]
        route = self._cache.get(key)
        if route is None:
            route = self._build(urlsplit(key).path or "/")
            with self._lock:
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = route
        return route

    def _build(self, path: str) -> Route:
        endpoint = self.table.match(path)
        name = endpoint.path if endpoint else normalize_path(path)
        windows = list(self.app_windows) if not endpoint or endpoint.counts_toward_app else []
        if endpoint is not None:
            rates = parse_rates(endpoint.limits, f"limits[{endpoint.path!r}]")
            windows.extend(Window(window_key(name, r), r) for r in rates)
        return Route(
            name=name,
            read_only=endpoint.read_only if endpoint else False,
            windows=tuple(windows),
            blocks=("ep:" + name,),
        )

    def known_routes(self) -> list[Route]:
        """A route for every row of the table, for budget reports."""
        return [self._build(e.path) for e in self.table]
