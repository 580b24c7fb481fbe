"""Fleet: several processes of several threads share one endpoint limit."""

from __future__ import annotations

import multiprocessing
import queue
import time
from typing import Any

import _scenarios_common as common
import _server
import _stamps

from tiktok_adapter.settings import DEFAULT_SAFETY_MARGIN

# How long children may take to import and build their clients before the start.
_READY_TIMEOUT = 60.0


def _worker(
    kind: str,
    base: str,
    limit: int,
    window: float,
    count: int,
    threads: int,
    start: Any,
    budget: float,
    redis_url: str | None,
    key_prefix: str,
    settings: dict[str, Any],
    results: Any,
) -> None:
    common.quiet()
    if kind == "rrl":
        contender = common.ratelimiter(base, limit, window)
        assert contender is not None
    else:
        # Every process of the fleet counts in the same keys: one prefix for all.
        storage = redis_url if kind == "redis" and redis_url else "memory://"
        extra = dict(settings)
        stamp = extra.pop("stamp", False)
        contender = common.adapter(
            base, limit, window, storage_uri=storage, key_prefix=key_prefix, **extra
        )
        if stamp:
            assert contender.adapter is not None
            _stamps.stamp_admissions(contender.adapter)
    try:
        # Every process starts sending at once, after all have paid for their imports.
        start.wait(timeout=_READY_TIMEOUT)
        out = common.drive(
            contender.get, base + common.PATH, count, threads, budget, clock=time.time
        )
    finally:
        contender.close()
    results.put(
        {
            "ok": out.ok,
            "total": out.total,
            "started": out.started,
            "errors": out.errors,
            "last_ok": out.last_ok,
            "last_done": out.last_done,
        }
    )


_KINDS = {
    "redis": ("tiktok_adapter (redis)", "one Redis shared by the fleet"),
    "memory": ("tiktok_adapter (memory)", "each process counts alone"),
    "rrl": (common.RRL, "in-memory bucket, each process counts alone; 429s not retried"),
}


def run_one(
    server: _server.ServerHandle,
    kind: str,
    *,
    processes: int,
    threads: int,
    total: int,
    limit: int,
    window: float,
    budget: float,
    redis_url: str | None,
    settings: dict[str, Any] | None = None,
    stamp: bool = False,
) -> dict[str, Any]:
    """One fleet run; ``settings`` go to every adapter (default settings when None).

    With ``stamp`` every request carries its admission moment, and the row says how
    much safety margin the arrivals needed.
    """
    settings = dict(settings or {})
    server.reset(limit, window)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start = ctx.Barrier(processes + 1)
    prefix = common.unique_prefix()
    shares = [total // processes + (1 if i < total % processes else 0) for i in range(processes)]
    procs = [
        ctx.Process(
            target=_worker,
            args=(
                kind,
                server.base_url,
                limit,
                window,
                n,
                threads,
                start,
                budget,
                redis_url,
                prefix,
                {**settings, "stamp": stamp},
                results,
            ),
        )
        for n in shares
    ]
    for p in procs:
        p.start()
    start.wait(timeout=_READY_TIMEOUT)
    start_at = time.time()
    parts = []
    for _ in procs:
        try:
            parts.append(results.get(timeout=budget + 2 * common.REQUEST_TIMEOUT))
        except queue.Empty:
            break
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)
    seen = server.arrivals()
    ok = sum(x["ok"] for x in parts)
    lost = total - ok
    # From the first worker's start: a worker may start sending before this process
    # reads the clock after the barrier, and the run would then look shorter than it was.
    start_at = min([start_at, *(x["started"] for x in parts)])
    ends = [x["last_ok"] if lost == 0 else x["last_done"] for x in parts]
    makespan = max(ends, default=start_at) - start_at
    ideal = common.ideal_makespan(total, limit, window)
    errors: dict[str, int] = {}
    for x in parts:
        for k, v in x["errors"].items():
            errors[k] = errors.get(k, 0) + v
    name, note = _KINDS[kind]
    spec = common.limit_text(limit, window)
    if kind == "rrl":
        config = f"LimiterAdapter(per_second={limit / window:g}, burst={window:g})"
    else:
        storage = "a shared redis://" if kind == "redis" else "memory://"
        config = f'limits={{"{common.ROUTE}": "{spec}"}} on {storage}'
        config += "".join(f", {k}={v!r}" for k, v in settings.items())
    row = {
        "contender": name,
        "config": f"in each process: {config}",
        "note": note,
        "requests": total,
        "sent": seen.ok + seen.refused,
        "http_429": seen.refused,
        "share_429": seen.refused / max(seen.ok + seen.refused, 1),
        "lost": lost,
        "errors": errors,
        "makespan_s": makespan,
        "ideal_s": ideal,
        "makespan_over_ideal": makespan / ideal if ideal > 0 else None,
        "peak_sent_per_window": seen.max_in_window(window),
    }
    if stamp:
        margin = settings.get("safety_margin", DEFAULT_SAFETY_MARGIN)
        row.update(_stamps.gaps(seen, limit, window, margin))
    return row


def run(
    server: _server.ServerHandle,
    *,
    processes: int,
    threads: int,
    total: int,
    limit: int,
    window: float,
    redis_url: str | None,
    budget: float = 90.0,
    log: Any = print,
) -> dict[str, Any]:
    notes = []
    kinds = ["redis", "memory", "rrl"]
    if not redis_url:
        kinds.remove("redis")
        notes.append("no redis-server found; the adapter on Redis was not run")
    if not common.installed("requests_ratelimiter"):
        kinds.remove("rrl")
        notes.append(f"{common.RRL} is not installed; not run")
    rows = []
    for kind in kinds:
        row = run_one(
            server,
            kind,
            processes=processes,
            threads=threads,
            total=total,
            limit=limit,
            window=window,
            budget=budget,
            redis_url=redis_url,
        )
        log(
            f"  fleet {row['contender']:<26} 429s={row['http_429']:<4} lost={row['lost']:<4} "
            f"makespan={row['makespan_s']:.2f}s"
        )
        rows.append(row)
    return {
        "processes": processes,
        "threads": threads,
        "requests": total,
        "limit": limit,
        "window_s": window,
        "rows": rows,
        "notes": notes,
    }
