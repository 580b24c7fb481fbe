"""Overhead per request of the adapter and its peers, as a ratio to plain requests."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scenarios_common as common
import _server

PLAIN = "plain requests"


def measure(
    server: _server.ServerHandle,
    rounds: int = 40,
    per_round: int = 200,
    redis_url: str | None = None,
) -> dict[str, Any]:
    """Sequential GETs, contenders interleaved round by round; the median of per-round ratios.

    Interleaving within one run means a slow spell of the machine hits every
    contender alike instead of whichever happened to run then.
    """
    server.reset(None, record=False)
    base, url = server.base_url, server.base_url + common.PATH
    contenders = [common.plain(base), common.adapter(base, common.NEVER_BINDS, 1)]
    if redis_url:
        contenders.append(common.adapter(base, common.NEVER_BINDS, 1, storage_uri=redis_url))
    peer = common.ratelimiter(base, common.NEVER_BINDS, 1)
    notes = [] if peer else [f"{common.RRL} is not installed; not measured"]
    if peer:
        contenders.append(peer)
    # Per round and contender: the median request time, and the total.
    medians: dict[str, list[float]] = {c.name: [] for c in contenders}
    totals: dict[str, list[float]] = {c.name: [] for c in contenders}
    try:
        for c in contenders:  # warm connections, route caches and buckets
            for _ in range(min(per_round, 50)):
                c.get(url)
        for r in range(rounds):
            order = contenders[r % len(contenders) :] + contenders[: r % len(contenders)]
            for c in order:
                get, times = c.get, [0.0] * per_round
                for i in range(per_round):
                    t0 = time.perf_counter()
                    get(url)
                    times[i] = time.perf_counter() - t0
                medians[c.name].append(statistics.median(times))
                totals[c.name].append(sum(times))
    finally:
        for c in contenders:
            c.close()
    rows = []
    for c in contenders:
        # Medians within a round drop the odd request that lost the CPU to another
        # process, which on two shared cores would otherwise swamp microseconds.
        ratios = [t / p for t, p in zip(medians[c.name], medians[PLAIN], strict=True)]
        mean_ratios = [t / p for t, p in zip(totals[c.name], totals[PLAIN], strict=True)]
        rows.append(
            {
                "contender": c.name,
                "config": "limit never binds; " + c.config,
                "us_per_request": statistics.median(medians[c.name]) * 1e6,
                "ratio_to_plain": statistics.median(ratios),
                "ratio_of_means": statistics.median(mean_ratios),
            }
        )
    result: dict[str, Any] = {
        "rounds": rounds,
        "per_round": per_round,
        "rows": rows,
        "notes": notes,
    }
    if redis_url:
        mem, red = medians["tiktok_adapter (memory)"], medians["tiktok_adapter (redis)"]
        deltas = [(a - b) * 1e3 for a, b in zip(red, mem, strict=True)]
        result["redis_minus_memory_ms"] = statistics.median(deltas)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--redis-url", help="also measure the adapter on this Redis")
    args = parser.parse_args()
    with _server.start() as server:
        result = measure(server, args.rounds, args.per_round, args.redis_url)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
