"""Compliance: a burst of K requests against a server enforcing exactly N per window."""

from __future__ import annotations

from typing import Any

import _scenarios_common as common
import _server

HEADROOM = "tiktok_adapter (memory, headroom)"


def contenders(
    base: str, limit: int, window: float, seed_delay: float
) -> tuple[list[common.Contender], list[str]]:
    """Every contender configured for ``limit`` per ``window``; notes for peers not installed."""
    built = [
        # Default settings, as users meet them: this row is the one the goals judge.
        common.adapter(base, limit, window),
        common.adapter(base, limit, window, name=HEADROOM, **common.HEADROOM),
    ]
    built[0].note = "default settings"
    built[1].note = common.HEADROOM_NOTE
    notes = []
    peer = common.ratelimiter(base, limit, window)
    if peer is None:
        notes.append(f"{common.RRL} is not installed; not run")
    else:
        built.append(peer)
    built.append(common.seed(base, limit, window, base_delay=seed_delay, jitter=seed_delay / 2))
    built.append(common.urllib3_retry(base))
    return built, notes


def run_one(
    server: _server.ServerHandle,
    contender: common.Contender,
    *,
    limit: int,
    window: float,
    total: int,
    threads: int,
    budget: float,
) -> dict[str, Any]:
    server.reset(limit, window)
    try:
        out = common.drive(contender.get, server.base_url + common.PATH, total, threads, budget)
    finally:
        contender.close()
    seen = server.arrivals()
    ideal = common.ideal_makespan(total, limit, window)
    return {
        "contender": contender.name,
        "config": contender.config,
        "note": contender.note,
        "threads": threads,
        "requests": total,
        "sent": seen.ok + seen.refused,
        "http_429": seen.refused,
        "share_429": seen.refused / max(seen.ok + seen.refused, 1),
        "lost": out.lost,
        "errors": out.errors,
        "makespan_s": out.makespan,
        "ideal_s": ideal,
        "makespan_over_ideal": out.makespan / ideal if ideal > 0 else None,
        "peak_sent_per_window": seen.max_in_window(window),
    }


def run(
    server: _server.ServerHandle,
    *,
    limit: int,
    window: float,
    total: int,
    thread_counts: tuple[int, ...] = (1, 8),
    seed_delay: float = 2.0,
    budget: float = 60.0,
    log: Any = print,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for threads in thread_counts:
        # A fresh contender per run: no limiter starts with the previous run's counts.
        built, notes = contenders(server.base_url, limit, window, seed_delay)
        for contender in built:
            row = run_one(
                server,
                contender,
                limit=limit,
                window=window,
                total=total,
                threads=threads,
                budget=budget,
            )
            log(
                f"  compliance {threads:>2} threads {row['contender']:<26} "
                f"429s={row['http_429']:<3} lost={row['lost']:<3} "
                f"makespan={row['makespan_s']:.2f}s"
            )
            rows.append(row)
    return {
        "limit": limit,
        "window_s": window,
        "requests": total,
        "server": f"sliding log, {limit} per {window:g} s on arrival; 429 with Retry-After",
        "rows": rows,
        "notes": notes,
    }
