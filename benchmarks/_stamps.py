"""Stamp each admission into its request, and read how much safety margin the arrivals needed."""

from __future__ import annotations

import math
import statistics
import threading
import time
from typing import Any

import _server

from tiktok_adapter import TikTokAdapter


class _Stamping:
    """Wraps the adapter's store to keep, per thread, the moment of the last admission.

    On memory the store is handed the moment it counts. On Redis the script reads
    Redis's own clock (``TIME``) somewhere inside the call, so the stamp is the middle
    of the call, off by at most half of it; that half is kept to report the error.
    """

    def __init__(self, store: Any, local: threading.local) -> None:
        self._store = store
        self._local = local

    def acquire(self, windows: Any, blocks: Any, now: float | None, share: float = 1.0) -> Any:
        before = time.time()
        verdict = self._store.acquire(windows, blocks, now, share)
        if verdict.admitted:
            after = time.time()
            exact = now is not None
            self._local.stamp = now if exact else (before + after) / 2
            self._local.error = 0.0 if exact else (after - before) / 2
        return verdict

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def stamp_admissions(adapter: TikTokAdapter) -> None:
    """Send each request's admission moment to the server in a header."""
    local = threading.local()
    stamping = _Stamping(adapter.limiter.admitter.store, local)
    adapter.limiter.admitter.store = stamping  # type: ignore[assignment]
    # A late answer finds its admission by the store that counted it (engine/late.py):
    # the same wrapper there, or a stamped run goes without the lateness protection
    # (entries moved after a late answer) that users have.
    adapter.limiter.late.store = stamping  # type: ignore[assignment]
    admit = adapter.admit

    def stamped(request: Any, route: Any, *args: Any, **kwargs: Any) -> float:
        waited = admit(request, route, *args, **kwargs)
        request.headers[_server.ADMIT_HEADER] = f"{local.stamp!r} {local.error!r}"
        return waited

    adapter.admit = stamped  # type: ignore[method-assign]


def parse(header: str | None) -> tuple[float, float] | None:
    """The (stamp, error) a request carried, or None when it was not stamped."""
    if not header:
        return None
    stamp, _, error = header.partition(" ")
    return float(stamp), float(error or 0.0)


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def gaps(seen: _server.Arrivals, limit: int, window: float, margin: float) -> dict[str, float]:
    """Arrival minus admission stamp, and the margin this run needed.

    Taken in admission order, request i and the one ``limit`` admissions later must
    arrive a full window apart, or the server refuses the later one. A bound pair is
    admitted window + margin apart; whatever of that the arrivals lost, the margin had
    to cover. So the margin needed is the margin used plus the most by which any pair
    arrived less than a window apart (the server's arrival clock, exact), and a margin
    at least that large would have spaced every pair of this run. The stamps only
    order the requests.
    """
    stamped = sorted((a[0], wall - a[0], mono, a[1]) for mono, wall, _, a in seen.stamped())
    arrived = [mono for _, _, mono, _ in stamped]
    short = max(
        (window - (arrived[i + limit] - arrived[i]) for i in range(len(arrived) - limit)),
        default=-math.inf,
    )
    ms = [g * 1e3 for _, g, _, _ in stamped] or [0.0]
    return {
        "gap_ms_p50": statistics.median(ms),
        "gap_ms_p99": _pct(ms, 99),
        "gap_ms_max": max(ms),
        "margin_needed_ms": max(margin + short, 0.0) * 1e3,
        "stamp_error_ms_max": max((e for _, _, _, e in stamped), default=0.0) * 1e3,
    }
