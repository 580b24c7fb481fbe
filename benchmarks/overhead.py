"""Overhead per request of the adapter and its peers, as a ratio to plain requests.

Contenders: plain requests, the adapter on memory (and on a Redis of our own when
redis-server is installed), requests-ratelimiter and PyrateLimiter 4's requests session,
each with a limit that never binds. Also counted: the calls into tiktok_adapter that one
plain 200 takes (benchmarks/_package_calls.py).

    python benchmarks/overhead.py [--rounds 60] [--per-round 100] [--instances 2]
                                  [--update [--note TEXT]]

``--update`` puts the result into benchmarks/results.json in place of the suite's
overhead, with a note of when it ran alone, and rewrites RESULTS.md from it (as
``run.py --report-only`` does); without it the result is printed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _own_redis
import _package_calls
import _scenarios_common as common
import _server

PLAIN = "plain requests"
PYRATE = "PyrateLimiter"
OURS = "tiktok_adapter (memory)"


def median_interval(values: list[float], draws: int = 2000, seed: int = 0) -> list[float]:
    """A 95% bootstrap interval of the median of ``values`` (resampled with a fixed seed,
    so that one run's results give one interval): how far another run of as many rounds
    may land, which on two shared cores is as wide as the goals' margins."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return [medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]]


def measure(
    server: _server.ServerHandle,
    rounds: int = 40,
    per_round: int = 200,
    redis_url: str | None = None,
    instances: int = 2,
) -> dict[str, Any]:
    """Sequential GETs, contenders interleaved round by round; the median of per-round ratios.

    Interleaving within one run means a slow spell of the machine hits every contender
    alike instead of whichever happened to run then. Each contender runs as ``instances``
    sessions of its own, their medians averaged per round, each round on new connections
    and in a new order: one session, one connection and one fixed neighbour each can land
    2% away from an identical one for the whole run (a server thread on the other core,
    where objects fall in memory), which no number of rounds averages out.
    """
    server.reset(None, record=False)
    base, url = server.base_url, server.base_url + common.PATH
    groups: dict[str, list[common.Contender]] = {PLAIN: [], OURS: []}
    notes = []
    for _ in range(instances):
        groups[PLAIN].append(common.plain(base))
        groups[OURS].append(common.adapter(base, common.NEVER_BINDS, 1))
        if redis_url:
            redis = common.adapter(base, common.NEVER_BINDS, 1, storage_uri=redis_url)
            groups.setdefault(redis.name, []).append(redis)
        for name, peer in (
            (common.RRL, common.ratelimiter(base, common.NEVER_BINDS, 1)),
            (common.PYRATE, common.pyrate(base, common.NEVER_BINDS, 1)),
        ):
            if peer is not None:
                groups.setdefault(name, []).append(peer)
            elif f"{name} is not installed; not measured" not in notes:
                notes.append(f"{name} is not installed; not measured")
    runs = [(name, c) for name, members in groups.items() for c in members]
    # Per round and contender: the mean over its sessions of their median request time,
    # and of their total; plain's second session against its first, as the noise floor.
    medians: dict[str, list[float]] = {name: [] for name in groups}
    totals: dict[str, list[float]] = {name: [] for name in groups}
    plain_pairs: list[float] = []
    order_rng = random.Random(0)
    try:
        for _, c in runs:  # warm connections, route caches and buckets
            for _ in range(min(per_round, 50)):
                c.get(url)
        for _ in range(rounds):
            # Keyed by session, not run order: the floor compares the same two sessions.
            round_medians: dict[str, dict[int, float]] = {name: {} for name in groups}
            round_totals: dict[str, list[float]] = {name: [] for name in groups}
            for _, c in runs:
                c.fresh()
            for name, c in order_rng.sample(runs, len(runs)):
                get, times = c.get, [0.0] * per_round
                for i in range(per_round):
                    t0 = time.perf_counter()
                    get(url)
                    times[i] = time.perf_counter() - t0
                round_medians[name][id(c)] = statistics.median(times)
                round_totals[name].append(sum(times))
            for name in groups:
                medians[name].append(statistics.fmean(round_medians[name].values()))
                totals[name].append(statistics.fmean(round_totals[name]))
            if instances > 1:
                first, second = (round_medians[PLAIN][id(c)] for c in groups[PLAIN][:2])
                plain_pairs.append(second / first)
        calls = _package_calls.count(groups[OURS][0].get, url)
    finally:
        for _, c in runs:
            c.close()
    rows = []
    for name, members in groups.items():
        # Medians within a round drop the odd request that lost the CPU to another
        # process, which on two shared cores would otherwise swamp microseconds.
        ratios = [t / p for t, p in zip(medians[name], medians[PLAIN], strict=True)]
        mean_ratios = [t / p for t, p in zip(totals[name], totals[PLAIN], strict=True)]
        rows.append(
            {
                "contender": name,
                "config": "limit never binds; " + members[0].config,
                "us_per_request": statistics.median(medians[name]) * 1e6,
                "ratio_to_plain": statistics.median(ratios),
                "ratio_interval": median_interval(ratios),
                "ratio_of_means": statistics.median(mean_ratios),
            }
        )
    result: dict[str, Any] = {
        "rounds": rounds,
        "per_round": per_round,
        "instances": instances,
        "rows": rows,
        "package_calls": calls,
        "notes": notes,
    }
    if plain_pairs:
        result["plain_second_session"] = {"median": statistics.median(plain_pairs),
                                          "interval": median_interval(plain_pairs)}  # fmt: skip
    if PYRATE in medians:
        # Round by round, the adapter's ratio minus PyrateLimiter's (both against the same
        # plain reference): the goal's "within 0.02", with the spread of the rounds.
        gaps = [(a - b) / p for a, b, p in zip(medians[OURS], medians[PYRATE], medians[PLAIN],
                                                strict=True)]  # fmt: skip
        result["minus_pyrate"] = {"median": statistics.median(gaps),
                                  "interval": median_interval(gaps)}  # fmt: skip
    if redis_url:
        mem, red = medians[OURS], medians["tiktok_adapter (redis)"]
        deltas = [(a - b) * 1e3 for a, b in zip(red, mem, strict=True)]
        result["redis_minus_memory_ms"] = statistics.median(deltas)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    # The full run's sizes (run.py SIZES["full"]["overhead"]).
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--instances", type=int, default=2, help="sessions per contender")
    parser.add_argument("--update", action="store_true", help="into results.json and RESULTS.md")
    parser.add_argument("--note", action="append", default=[], help="a note for the section")
    args = parser.parse_args()
    common.quiet()
    load = os.getloadavg()[0]
    with _own_redis.own_redis() as redis_url, _server.start() as server:
        result = measure(server, args.rounds, args.per_round, redis_url, args.instances)
    if not args.update:
        print(json.dumps(result, indent=2))
        return
    import run

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    result["notes"] += [
        f"Rerun alone on {when} (`python benchmarks/overhead.py --update`), load average "
        f"{load:.2f} at the start; nothing else was rerun with it.",
        *args.note,
    ]
    path = run.HERE / "results.json"
    results = json.loads(path.read_text())
    results["overhead"] = result
    path.write_text(json.dumps(results, indent=2) + "\n")
    run.rewrite_report(run.HERE)


if __name__ == "__main__":
    main()
