"""How far server arrival trails our admission under threads, and which safety_margin covers it."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scenarios_common as common
import _server

from tiktok_adapter import TikTokAdapter
from tiktok_adapter._settings import DEFAULT_SAFETY_MARGIN

MARGINS = (0.0, 0.01, 0.02, 0.05)


class _Stamping:
    """Wraps the adapter's store to keep, per thread, the moment of the last admission."""

    def __init__(self, store: Any, local: threading.local) -> None:
        self._store = store
        self._local = local

    def acquire(self, windows: Any, blocks: Any, now: float | None, share: float = 1.0) -> Any:
        verdict = self._store.acquire(windows, blocks, now, share)
        if verdict.admitted:
            self._local.stamp = now if now is not None else time.time()
        return verdict

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _stamp_admissions(adapter: TikTokAdapter) -> None:
    """Send each request's admission moment to the server in a header."""
    local = threading.local()
    adapter.admitter.store = _Stamping(adapter.admitter.store, local)  # type: ignore[assignment]
    admit = adapter.admit

    def stamped(request: Any, route: Any, level: Any = None) -> float:
        waited = admit(request, route, level)
        request.headers[_server.ADMIT_HEADER] = repr(local.stamp)
        return waited

    adapter.admit = stamped  # type: ignore[method-assign]


def run_one(
    server: _server.ServerHandle,
    margin: float,
    *,
    total: int,
    threads: int,
    limit: int,
    window: float,
) -> dict[str, Any]:
    server.reset(limit, window)
    contender = common.adapter(
        server.base_url, limit, window, safety_margin=margin, **common.FULL_WINDOW
    )
    assert contender.adapter is not None
    _stamp_admissions(contender.adapter)
    try:
        out = common.drive(
            contender.get,
            server.base_url + common.PATH,
            total,
            threads,
            budget=total / limit * window * 3 + 10,
        )
    finally:
        contender.close()
    seen = server.arrivals()
    stamped = sorted((a, wall - a) for _, wall, _, a in seen.log if a is not None)
    gaps = [g for _, g in stamped]
    # Our windows are spaced by window + margin on admission; the server's by arrival.
    # Request i and the one `limit` admissions later stay a window apart at the server
    # as long as the margin covers how much longer i took to arrive.
    needed = max((gaps[i] - gaps[i + limit] for i in range(len(gaps) - limit)), default=0.0)
    ms = [g * 1e3 for g in gaps] or [0.0]
    return {
        "safety_margin": margin,
        "requests": total,
        "threads": threads,
        "http_429": seen.refused,
        "lost": out.lost,
        "makespan_s": out.makespan,
        "gap_ms_p50": statistics.median(ms),
        "gap_ms_p99": statistics.quantiles(ms, n=100, method="inclusive")[-1]
        if len(ms) > 1
        else ms[0],
        "gap_ms_max": max(ms),
        "margin_needed_ms": max(needed, 0.0) * 1e3,
    }


def run(
    server: _server.ServerHandle,
    margins: Sequence[float] = MARGINS,
    *,
    total: int = 100,
    threads: int = 8,
    limit: int = 5,
    window: float = 1.0,
    log: Any = print,
) -> dict[str, Any]:
    rows = []
    for margin in margins:
        row = run_one(server, margin, total=total, threads=threads, limit=limit, window=window)
        log(
            f"  margin {margin:<5} 429s={row['http_429']:<3} lost={row['lost']:<3} gap "
            f"p50={row['gap_ms_p50']:.2f} p99={row['gap_ms_p99']:.2f} max={row['gap_ms_max']:.2f} "
            f"ms; margin needed {row['margin_needed_ms']:.2f} ms"
        )
        rows.append(row)
    return {
        "limit": limit,
        "window_s": window,
        "default_margin": DEFAULT_SAFETY_MARGIN,
        "config": f"{threads} threads share {total} requests; server enforces exactly "
        f"{limit} per {window:g} s; priority_shares medium=1.0",
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--margins", type=float, nargs="+", default=list(MARGINS))
    args = parser.parse_args()
    common.quiet()
    with _server.start() as server:
        result = run(
            server, args.margins, total=args.requests, threads=args.threads, limit=args.limit
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
