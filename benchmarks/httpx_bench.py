"""httpx: the async transport under load on the loopback server, and its overhead.

1. Compliance: 500 requests from 100 concurrent tasks against a server that allows 10
   per second (sliding log, 429 with Retry-After). Goal: 0 lost, at most 1% 429s,
   makespan at most 1.05x the ideal (the first 10 at once, then 10 more each second).
2. Overhead: sequential GETs with limits that never bind, as a ratio to a plain
   ``httpx.AsyncClient`` (and ``httpx.Client`` for the sync transport), interleaved
   round by round with PyrateLimiter's httpx transports. Goal: at most 1.05.

Run: ``python benchmarks/httpx_bench.py`` (``--markdown`` prints the results table).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scenarios_common as common
import _server

from tiktok_adapter.httpx import AsyncTikTokTransport, TikTokTransport

PLAIN_ASYNC = "plain httpx.AsyncClient"
PLAIN_SYNC = "plain httpx.Client"
PYRATE = "PyrateLimiter"
TIMEOUT = httpx.Timeout(common.REQUEST_TIMEOUT)


def _ours(limit: int, window: float, sync: bool = False, **settings: Any) -> Any:
    options: dict[str, Any] = {
        "limits": {common.ROUTE: common.limit_text(limit, window)},
        "app_limit": None,
        "key_prefix": common.unique_prefix(),
        **settings,
    }
    return TikTokTransport(**options) if sync else AsyncTikTokTransport(**options)


def _pyrate(limit: int, window: float, sync: bool = False) -> Any | None:
    if not common.installed("pyrate_limiter.extras.httpx_limiter"):
        return None
    from pyrate_limiter import Duration, Limiter, Rate
    from pyrate_limiter.extras.httpx_limiter import (
        AsyncRateLimiterTransport,
        RateLimiterTransport,
    )

    limiter = Limiter(Rate(limit, Duration.SECOND * window))
    return RateLimiterTransport(limiter) if sync else AsyncRateLimiterTransport(limiter)


# -- 1. compliance ------------------------------------------------------------------------


@dataclass
class Load:
    name: str
    config: str
    transport: httpx.AsyncBaseTransport | None


async def _drive(load: Load, url: str, total: int, tasks: int, budget: float) -> dict[str, Any]:
    ok, errors, last_ok, last_done = 0, {}, 0.0, 0.0
    taken = iter(range(total))
    client = httpx.AsyncClient(
        transport=load.transport, timeout=TIMEOUT, limits=httpx.Limits(max_connections=tasks)
    )
    started = time.monotonic()

    async def worker() -> None:
        nonlocal ok, last_ok, last_done
        for _ in taken:
            try:
                left = started + budget - time.monotonic()
                response = await asyncio.wait_for(client.get(url), max(left, 0.001))
                failure = None if response.status_code == 200 else f"HTTP {response.status_code}"
            except Exception as exc:  # a lost request, whatever the reason
                failure = type(exc).__name__
            done = time.monotonic()
            last_done = max(last_done, done)
            if failure is None:
                ok += 1
                last_ok = max(last_ok, done)
            else:
                errors[failure] = errors.get(failure, 0) + 1

    try:
        await asyncio.gather(*(worker() for _ in range(tasks)))
    finally:
        await client.aclose()
    lost = total - ok
    return {
        "ok": ok,
        "lost": lost,
        "errors": errors,
        "makespan_s": (last_ok if lost == 0 else last_done) - started,
    }


def compliance(
    server: _server.ServerHandle, total: int, tasks: int, limit: int, window: float
) -> list[dict[str, Any]]:
    spec = (
        f"AsyncTikTokTransport(limits={{'{common.ROUTE}': '{common.limit_text(limit, window)}'}})"
    )
    loads = [Load("tiktok_adapter.httpx (memory)", f"{spec}, defaults", _ours(limit, window))]
    # For comparison only: the default margin (30 ms) is paid once per window, 3% of the
    # ideal at one-second windows; benchmarks/margin.py sweeps what loopback needs.
    loads.append(
        Load(
            "tiktok_adapter.httpx (memory), margin 20 ms",
            f"{spec}, safety_margin=0.02",
            _ours(limit, window, safety_margin=0.02),
        )
    )
    peer = _pyrate(limit, window)
    if peer is not None:
        loads.append(Load(PYRATE, f"AsyncRateLimiterTransport(Rate({limit}, {window:g} s))", peer))
    ideal = common.ideal_makespan(total, limit, window)
    rows = []
    for load in loads:
        server.reset(limit, window)
        out = asyncio.run(
            _drive(load, server.base_url + common.PATH, total, tasks, budget=ideal * 3 + 30)
        )
        seen = server.arrivals()
        sent = seen.ok + seen.refused
        share = seen.refused / max(sent, 1)
        makespan = out["makespan_s"]
        rows.append(dict(
            contender=load.name, config=load.config, tasks=tasks, requests=total, sent=sent,
            http_429=seen.refused, share_429=share, lost=out["lost"], errors=out["errors"],
            makespan_s=makespan, ideal_s=ideal, makespan_over_ideal=makespan / ideal,
            peak_sent_per_window=seen.max_in_window(window),
        ))  # fmt: skip
    return rows


# -- 2. overhead --------------------------------------------------------------------------


@dataclass
class Sender:
    name: str
    get: Callable[[str], Awaitable[Any]] | Callable[[str], Any]
    close: Callable[[], Any]
    is_async: bool


def _senders() -> list[Sender]:
    never = common.NEVER_BINDS
    made: list[Sender] = []
    for name, transport in (
        (PLAIN_ASYNC, None),
        ("tiktok_adapter.httpx async", _ours(never, 1)),
        (f"{PYRATE} async", _pyrate(never, 1)),
    ):
        if name.startswith(PYRATE) and transport is None:
            continue
        client = httpx.AsyncClient(transport=transport, timeout=TIMEOUT)
        made.append(Sender(name, client.get, client.aclose, True))
    for name, transport in (
        (PLAIN_SYNC, None),
        ("tiktok_adapter.httpx sync", _ours(never, 1, sync=True)),
        (f"{PYRATE} sync", _pyrate(never, 1, sync=True)),
    ):
        if name.startswith(PYRATE) and transport is None:
            continue
        sync_client = httpx.Client(transport=transport, timeout=TIMEOUT)
        made.append(Sender(name, sync_client.get, sync_client.close, False))
    return made


async def _time_round(sender: Sender, url: str, count: int) -> list[float]:
    times = [0.0] * count
    for i in range(count):
        t0 = time.perf_counter()
        if sender.is_async:
            await sender.get(url)  # type: ignore[misc]
        else:
            sender.get(url)
        times[i] = time.perf_counter() - t0
    return times


def overhead(server: _server.ServerHandle, rounds: int, per_round: int) -> list[dict[str, Any]]:
    """Medians per round, contenders interleaved, so a slow spell hits every one alike."""
    server.reset(None, record=False)
    url = server.base_url + common.PATH

    async def run() -> dict[str, list[float]]:
        senders = _senders()
        medians: dict[str, list[float]] = {s.name: [] for s in senders}
        try:
            for s in senders:  # warm connections, routes and buckets
                await _time_round(s, url, 50)
            for r in range(rounds):
                order = senders[r % len(senders) :] + senders[: r % len(senders)]
                for s in order:
                    medians[s.name].append(statistics.median(await _time_round(s, url, per_round)))
        finally:
            for s in senders:
                closed = s.close()
                if asyncio.iscoroutine(closed):
                    await closed
        return medians

    medians = asyncio.run(run())
    rows = []
    for name, values in medians.items():
        plain = medians[PLAIN_ASYNC if "async" in name or name == PLAIN_ASYNC else PLAIN_SYNC]
        ratios = [v / p for v, p in zip(values, plain, strict=True)]
        rows.append(
            {
                "contender": name,
                "us_per_request": statistics.median(values) * 1e6,
                "ratio_to_plain": statistics.median(ratios),
            }
        )
    return rows


# -- report -------------------------------------------------------------------------------


def markdown(result: dict[str, Any]) -> str:
    lines = ["## httpx transports (benchmarks/httpx_bench.py)", ""]
    c = result["compliance_params"]
    lines.append(
        f"{c['total']} requests from {c['tasks']} asyncio tasks; server: sliding log, "
        f"{c['limit']} per {c['window']:g} s on arrival, 429 with Retry-After. Ideal: the "
        "first burst at once, then the limit again every window."
    )
    lines += [
        "",
        "| contender | configuration | sent | 429s | lost | makespan | ideal | "
        "makespan/ideal | peak per window |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["compliance"]:
        lines.append(
            f"| {r['contender']} | {r['config']} | {r['sent']} | {r['http_429']} "
            f"({r['share_429']:.1%}) | {r['lost']} | {r['makespan_s']:.2f} s | "
            f"{r['ideal_s']:g} s | {r['makespan_over_ideal']:.3f} | {r['peak_sent_per_window']} |"
        )
    o = result["overhead_params"]
    lines += [
        "",
        f"Overhead: sequential GETs on loopback, limits that never bind; median of "
        f"{o['rounds']} interleaved rounds of {o['per_round']} (per-round medians).",
        "",
        "| contender | us/request | ratio to plain httpx |",
        "|---|---|---|",
    ]
    for r in result["overhead"]:
        lines.append(
            f"| {r['contender']} | {r['us_per_request']:.0f} | {r['ratio_to_plain']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--skip-compliance", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print a RESULTS.md section")
    args = parser.parse_args()
    common.quiet()
    result: dict[str, Any] = {
        "compliance_params": {
            "total": args.total,
            "tasks": args.tasks,
            "limit": args.limit,
            "window": args.window,
        },
        "overhead_params": {"rounds": args.rounds, "per_round": args.per_round},
    }
    with _server.start() as server:
        result["compliance"] = (
            []
            if args.skip_compliance
            else compliance(server, args.total, args.tasks, args.limit, args.window)
        )
        result["overhead"] = overhead(server, args.rounds, args.per_round)
    print(markdown(result) if args.markdown else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
