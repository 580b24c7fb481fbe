"""How far server arrival trails our admission, and which safety_margin covers it.

Two sweeps on default settings except the margin: threads of one process on memory, and
a fleet of processes on one Redis (whose windows run on Redis's clock). Repeated with
``--runs N``, the sweeps are written to ``margin_sweep.json``, which RESULTS.md quotes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _own_redis
import _scenarios_common as common
import _scenarios_fleet as fleet
import _server
import _stamps

from tiktok_adapter.settings import DEFAULT_SAFETY_MARGIN

MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05)
FLEET_MARGINS = (0.0, 0.01, 0.02, 0.03)
SWEEP_FILE = Path(__file__).resolve().parent / "margin_sweep.json"


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
    contender = common.adapter(server.base_url, limit, window, safety_margin=margin)
    assert contender.adapter is not None
    _stamps.stamp_admissions(contender.adapter)
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
    return {
        "safety_margin": margin,
        "requests": total,
        "threads": threads,
        "http_429": seen.refused,
        "lost": out.lost,
        "makespan_s": out.makespan,
        **_stamps.gaps(seen, limit, window, margin),
    }


def _log(log: Any, where: str, row: dict[str, Any]) -> None:
    log(
        f"  margin {where} {row['safety_margin']:<5} 429s={row['http_429']:<3} "
        f"lost={row['lost']:<3} gap p50={row['gap_ms_p50']:.2f} p99={row['gap_ms_p99']:.2f} "
        f"max={row['gap_ms_max']:.2f} ms; margin needed {row['margin_needed_ms']:.2f} ms"
    )


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
    """Threads of one process on memory, one run per margin."""
    rows = []
    for margin in margins:
        row = run_one(server, margin, total=total, threads=threads, limit=limit, window=window)
        _log(log, "memory", row)
        rows.append(row)
    return {
        "limit": limit,
        "window_s": window,
        "default_margin": DEFAULT_SAFETY_MARGIN,
        "config": f"memory, {threads} threads share {total} requests; server enforces exactly "
        f"{limit} per {window:g} s; default settings but safety_margin",
        "rows": rows,
    }


def run_fleet(
    server: _server.ServerHandle,
    redis_url: str | None,
    margins: Sequence[float] = FLEET_MARGINS,
    *,
    processes: int = 4,
    threads: int = 4,
    total: int = 100,
    limit: int = 10,
    window: float = 1.0,
    log: Any = print,
) -> dict[str, Any]:
    """A fleet on one Redis, one run per margin; stamps are the middle of each admission call."""
    config = (
        f"Redis, {processes} processes x {threads} threads share {total} requests; server "
        f"enforces exactly {limit} per {window:g} s; default settings but safety_margin"
    )
    if not redis_url:
        return {"config": config, "rows": [], "notes": ["no redis-server found; not run"]}
    rows = []
    for margin in margins:
        row = fleet.run_one(
            server, "redis", processes=processes, threads=threads, total=total, limit=limit,
            window=window, budget=total / limit * window * 3 + 10, redis_url=redis_url,
            settings={"safety_margin": margin}, stamp=True,
        )  # fmt: skip
        row["safety_margin"] = margin
        _log(log, "fleet ", row)
        rows.append(row)
    return {
        "limit": limit,
        "window_s": window,
        "processes": processes,
        "threads": threads,
        "default_margin": DEFAULT_SAFETY_MARGIN,
        "config": config,
        "rows": rows,
        "notes": [],
    }


def summarize(runs: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Per margin over repeated runs: runs with a 429, all 429s, lost, worst margin needed."""
    by: dict[float, list[dict[str, Any]]] = {}
    for one in runs:
        for row in one[key]["rows"]:
            by.setdefault(row["safety_margin"], []).append(row)
    return [
        {
            "safety_margin": margin,
            "runs": len(rows),
            "runs_with_429": sum(1 for r in rows if r["http_429"]),
            "http_429": sum(r["http_429"] for r in rows),
            "lost": sum(r["lost"] for r in rows),
            "margin_needed_ms_max": max(r["margin_needed_ms"] for r in rows),
            "gap_ms_max": max(r["gap_ms_max"] for r in rows),
        }
        for margin, rows in sorted(by.items())
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--margins", type=float, nargs="+", default=list(MARGINS))
    parser.add_argument("--fleet-margins", type=float, nargs="+", default=list(FLEET_MARGINS))
    parser.add_argument("--fleet-requests", type=int, default=100)
    parser.add_argument("--no-fleet", action="store_true", help="memory sweep only")
    parser.add_argument("--runs", type=int, default=1, help="repeat both sweeps")
    parser.add_argument("--output", type=Path, default=SWEEP_FILE)
    parser.add_argument(
        "--append", action="store_true", help="add these runs to those already in --output"
    )
    args = parser.parse_args()
    common.quiet()
    runs: list[dict[str, Any]] = []
    # Recorded without --output, whose value may be a path on this machine.
    argv = sys.argv[1:]
    kept = [a for i, a in enumerate(argv) if a != "--output" and argv[i - 1 : i] != ["--output"]]
    commands = [" ".join(["python benchmarks/margin.py", *kept])]
    if args.append and args.output.exists():
        before = json.loads(args.output.read_text())
        runs, commands = before["runs"], before["commands"] + commands
    with _own_redis.own_redis() as redis_url, _server.start() as server:
        for n in range(args.runs):
            print(f"run {n + 1} of {args.runs}")
            one = {
                "memory": run(
                    server, args.margins, total=args.requests, threads=args.threads,
                    limit=args.limit,
                )
            }  # fmt: skip
            if not args.no_fleet:
                one["fleet"] = run_fleet(
                    server, redis_url, args.fleet_margins, total=args.fleet_requests
                )
            runs.append(one)
    result = {
        "commands": commands,
        "machine": f"{os.cpu_count()}-core {platform.machine()} {platform.system()}, "
        f"Python {platform.python_version()}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "memory_config": runs[0]["memory"]["config"],
        "memory": summarize(runs, "memory"),
        "runs": runs,
    }
    fleets = [r for r in runs if r.get("fleet", {}).get("rows")]
    if fleets:
        result["fleet_config"] = fleets[0]["fleet"]["config"]
        result["fleet"] = summarize(fleets, "fleet")
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    for key in ("memory", "fleet"):
        for row in result.get(key, []):
            print(f"{key:<6} {json.dumps(row)}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
