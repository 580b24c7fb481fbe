"""Priorities under saturation: CRITICAL vs LOW latency, and what stats and priority cost."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import _server
import requests

from tiktok_adapter import Priority, mount, priority


def latency_under_saturation(seconds: float, rate: int) -> dict[str, Any]:
    """8 LOW threads saturate the endpoint; CRITICAL requests arrive now and then."""
    server = _server.start()
    server.reset(None, record=False)
    base = server.base_url
    session = requests.Session()
    mount(session, base_url=base, limits={"/bench/": f"{rate}/second"}, app_limit=None)
    url = base + "v2/bench/"
    lows: list[float] = []
    crits: list[float] = []
    stop = time.monotonic() + seconds

    def low_worker() -> None:
        with priority(Priority.LOW):
            while time.monotonic() < stop:
                t = time.perf_counter()
                session.get(url)
                lows.append(time.perf_counter() - t)

    with ThreadPoolExecutor(8) as pool:
        for _ in range(8):
            pool.submit(low_worker)
        time.sleep(0.5)
        while time.monotonic() < stop - 0.3:
            with priority(Priority.CRITICAL):
                t = time.perf_counter()
                session.get(url)
                crits.append(time.perf_counter() - t)
            time.sleep(0.25)
    server.close()

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0

    return {
        "rate": rate,
        "low_requests": len(lows),
        "critical_requests": len(crits),
        "low_p50_ms": pct(lows, 50),
        "low_p95_ms": pct(lows, 95),
        "critical_p50_ms": pct(crits, 50),
        "critical_p95_ms": pct(crits, 95),
    }


def overhead(rounds: int, per_round: int) -> dict[str, Any]:
    """Plain requests vs the adapter with stats and priorities on, limits never binding."""
    server = _server.start()
    server.reset(None, record=False)
    base = server.base_url
    plain = requests.Session()
    adapted = requests.Session()
    mount(adapted, base_url=base, limits={"/bench/": "1000000/second"}, app_limit=None)
    url = base + "v2/bench/"
    ratios = []
    for _ in range(rounds):
        timings = {}
        for name, session in (("plain", plain), ("adapter", adapted)):
            t = time.perf_counter()
            with priority(Priority.HIGH):
                for _ in range(per_round):
                    session.get(url)
            timings[name] = time.perf_counter() - t
        ratios.append(timings["adapter"] / timings["plain"])
    server.close()
    return {"rounds": rounds, "per_round": per_round, "ratio_median": statistics.median(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = {
        "saturation": latency_under_saturation(4 if args.quick else 10, 4),
        "overhead_with_stats_and_priority": overhead(10 if args.quick else 30, 200),
    }
    sat = result["saturation"]
    print(json.dumps(result, indent=2))
    print(
        f"CRITICAL p50 {sat['critical_p50_ms']:.1f} ms / p95 {sat['critical_p95_ms']:.1f} ms; "
        f"LOW p50 {sat['low_p50_ms']:.1f} ms / p95 {sat['low_p95_ms']:.1f} ms"
    )
    ratio = result["overhead_with_stats_and_priority"]["ratio_median"]
    print(f"overhead ratio with stats and priority: {ratio:.3f} "
          f"({'PASS' if ratio <= 1.05 else 'FAIL'}, goal <= 1.05)")  # fmt: skip


if __name__ == "__main__":
    main()
