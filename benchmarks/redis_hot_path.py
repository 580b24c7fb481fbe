"""What Redis adds to one admission, against the same admission on memory, in the same run.

On a redis-server of our own, four calls are timed in interleaved rounds (a slow spell
of the machine hits all alike): the adapter's whole admission on ``memory://``
(``admit``: the in-process count and the stats), the same on Redis (the in-process
shadow, the Redis script, the stats), the Redis store's ``acquire`` alone, and EVALSHA
of a script that only returns 1 through the store's own redis-py client (the floor: one
round trip, shown for comparison). Each is timed in wall time and in this process's CPU
time. The goal: Redis adds at most 0.5 ms to an admission (the median over rounds of
Redis's ``admit`` minus memory's); on a 200 the admission is the only Redis round trip
of a request. The ratio to the bare EVALSHA is the median of the rounds' ratios. The
server's own time per script and the commands per admission come from INFO commandstats.

The result goes to benchmarks/redis_hot_path.json (or --json), with the date, redis-py's
and hiredis's versions and an optional --note; ``python benchmarks/run.py --report-only``
then shows it in RESULTS.md in place of the suite's own hot path when it is the newer.

    python benchmarks/redis_hot_path.py [--rounds 15] [--per-round 1000] [--note TEXT]
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _own_redis
import _scenarios_common as common
import requests

from tiktok_adapter import TikTokAdapter

FILE = "redis_hot_path.json"
GOAL_MS = 0.5  # Redis adds at most this much to an admission, over memory://
# The benchmarks' route (one window that never binds) and a TikTok-shaped one: an app
# window and an endpoint window, both checked and charged by one script.
ROUTES = {
    "one window": {"limits": {common.ROUTE: f"{common.NEVER_BINDS}/second"}, "app_limit": None},
    "app + endpoint windows": {
        "limits": {common.ROUTE: f"{common.NEVER_BINDS}/day"},
        "app_limit": f"{common.NEVER_BINDS}/minute",
    },
}


def _time(fn: Callable[[], object], count: int) -> tuple[float, float]:
    """Microseconds per call: wall time, and this process's CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        fn()
    return ((time.perf_counter() - wall) / count * 1e6, (time.process_time() - cpu) / count * 1e6)


def _server_stats(client: Any) -> dict[str, dict[str, float]]:
    stats = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): v for k, v in stats.items()}


def _hiredis() -> bool:
    try:
        from redis.utils import HIREDIS_AVAILABLE
    except ImportError:
        return False
    return bool(HIREDIS_AVAILABLE)


def measure_route(url: str, name: str, rounds: int, per_round: int) -> dict[str, Any]:
    ad = TikTokAdapter(storage_uri=url, key_prefix=common.unique_prefix(), **ROUTES[name])
    mem = TikTokAdapter(storage_uri="memory://", **ROUTES[name])
    request = requests.Request("GET", "http://127.0.0.1/" + common.PATH).prepare()
    route = ad.resolve(request)
    mem_route = mem.resolve(request)
    ad.admit(request, route)  # connects, loads the script, builds the route's plan
    store = ad.store.primary  # type: ignore[attr-defined]
    client = store.client
    sha = client.script_load("return 1")
    windows, blocks = route.windows, route.blocks
    calls: dict[str, Callable[[], object]] = {
        "adapter.admit on memory": lambda: mem.admit(request, mem_route),
        "bare EVALSHA": lambda: client.evalsha(sha, 0),
        "store.acquire": lambda: store.acquire(windows, blocks, None),
        "adapter.admit": lambda: ad.admit(request, route),
    }
    for fn in calls.values():
        _time(fn, min(per_round, 200))  # warm
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in calls}
    for _ in range(rounds):
        for key, fn in calls.items():
            samples[key].append(_time(fn, per_round))
    base = samples["bare EVALSHA"]
    memory = samples["adapter.admit on memory"]
    added_ms = statistics.median(
        (r[0] - m[0]) / 1e3 for r, m in zip(samples["adapter.admit"], memory, strict=True)
    )
    rows = []
    for key, got in samples.items():
        rows.append(
            {
                "call": key,
                "wall_us": statistics.median(w for w, _ in got),
                "cpu_us": statistics.median(c for _, c in got),
                "ratio_to_bare": statistics.median(
                    w / b[0] for (w, _), b in zip(got, base, strict=True)
                ),
            }
        )
    # The server's side: time per script, and what one admission asks of it.
    client.config_resetstat()
    _time(calls["bare EVALSHA"], per_round)
    trivial = _server_stats(client)["evalsha"]
    client.config_resetstat()
    _time(calls["adapter.admit"], per_round)
    stats = _server_stats(client)
    ad.close()
    mem.close()
    commands = {k: v["calls"] / per_round for k, v in stats.items() if k != "config|resetstat"}
    return {
        "route": name,
        "windows": [w.rate.text for w in route.windows],
        "rows": rows,
        "redis_adds_ms": added_ms,
        "server_us_bare_evalsha": trivial["usec_per_call"],
        "server_us_admission_script": stats["evalsha"]["usec_per_call"],
        "commands_per_admission": commands,
    }


def measure(url: str, rounds: int, per_round: int) -> dict[str, Any]:
    routes = [measure_route(url, name, rounds, per_round) for name in ROUTES]
    worst = max(route["redis_adds_ms"] for route in routes)
    return {
        "hiredis": _hiredis(),
        "rounds": rounds,
        "per_round": per_round,
        "goal_ms": GOAL_MS,
        "worst_redis_adds_ms": worst,
        "goal_met": worst <= GOAL_MS,
        "routes": routes,
    }


def markdown(result: dict[str, Any]) -> str:
    parser = "hiredis" if result["hiredis"] else "redis-py's own parser (hiredis not installed)"
    lines = [
        f"Median of {result['rounds']} interleaved rounds of {result['per_round']} calls, "
        f"on a redis-server of our own over loopback; reply parser: {parser}. Goal: Redis "
        f"adds <= {result['goal_ms']} ms to `adapter.admit` over memory "
        f"({'PASS' if result['goal_met'] else 'FAIL'}: worst "
        f"{result['worst_redis_adds_ms']:.3f} ms, "
        + ", ".join(f"{r['route']} {r['redis_adds_ms']:.3f} ms" for r in result["routes"])
        + ").",
        "",
        "| route | call | wall µs | CPU µs | x bare EVALSHA | server µs per script |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for route in result["routes"]:
        for row in route["rows"]:
            server = ("" if row["call"].endswith("memory") else
                      f"{route['server_us_bare_evalsha']:.1f}" if row["call"].startswith("bare")
                      else f"{route['server_us_admission_script']:.1f}")  # fmt: skip
            lines.append(
                f"| {route['route']} | {row['call']} | {row['wall_us']:.1f} | "
                f"{row['cpu_us']:.1f} | {row['ratio_to_bare']:.2f} | {server} |"
            )
    lines.append("")
    for route in result["routes"]:
        per = ", ".join(f"{k} {v:g}" for k, v in sorted(route["commands_per_admission"].items()))
        lines.append(f"- {route['route']}: Redis commands per admission: {per}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / FILE)
    parser.add_argument("--note", help="why it ran alone, for the line above the table")
    args = parser.parse_args()
    with _own_redis.own_redis() as url:
        if url is None:
            sys.exit("redis-server and redis-py are needed for this benchmark")
        result = measure(url, args.rounds, args.per_round)
    print(markdown(result))
    result.update(alone(args.rounds, args.per_round, args.note))
    args.json.write_text(json.dumps(result, indent=2) + "\n")


def alone(rounds: int, per_round: int, note: str | None) -> dict[str, Any]:
    """What says a result was measured apart from the suite: when, how, on what."""
    import redis

    try:
        from importlib.metadata import version

        hiredis = version("hiredis")
    except ImportError:
        hiredis = "not installed"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/redis_hot_path.py"
        + (
            ""
            if (rounds, per_round) == (15, 1000)
            else f" --rounds {rounds} --per-round {per_round}"
        ),
        "redis_py": redis.__version__,
        "hiredis_version": hiredis,
        "note": note or "",
    }


if __name__ == "__main__":
    main()
