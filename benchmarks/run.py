"""Run every benchmark scenario; write benchmarks/RESULTS.md and benchmarks/results.json."""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _own_redis  # noqa: E402
import _report_alone  # noqa: E402
import _scenarios_common as common  # noqa: E402
import _scenarios_compliance as compliance  # noqa: E402
import _scenarios_cpu as cpu  # noqa: E402
import _scenarios_fleet as fleet  # noqa: E402
import _scenarios_report as report  # noqa: E402
import _server  # noqa: E402
import margin  # noqa: E402
import overhead  # noqa: E402
import redis_ha  # noqa: E402
import redis_hot_path  # noqa: E402

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "overhead": {"rounds": 60, "per_round": 100},
        # The goal's own case: a server enforcing exactly 5 per second. On a 1 s window
        # the margin costs margin/window of throughput (TikTok's windows are minutes).
        "compliance": {"limit": 5, "window": 1, "total": 60, "seed_delay": 1.0},
        "fleet": {"processes": 4, "threads": 4, "total": 200, "limit": 10, "window": 1},
        "margin": {"total": 60, "threads": 8, "limit": 5, "margins": margin.MARGINS},
        "margin_fleet": {"total": 100, "margins": margin.FLEET_MARGINS},
        "cpu": {"count": 5000},
        "httpx": {"total": 500, "tasks": 100, "limit": 10, "window": 1.0, "rounds": 30,
                  "per_round": 200},
    },
    "quick": {
        "overhead": {"rounds": 15, "per_round": 100},
        "compliance": {"limit": 5, "window": 1, "total": 20, "seed_delay": 1.0},
        "fleet": {"processes": 4, "threads": 4, "total": 40, "limit": 10, "window": 1},
        "margin": {"total": 40, "threads": 8, "limit": 5, "margins": ()},
        "margin_fleet": None,
        "cpu": {"count": 2000},
        "httpx": {"total": 100, "tasks": 50, "limit": 10, "window": 1.0, "rounds": 8,
                  "per_round": 100},
    },
    # For the test: every limit binds once (one request more than a window holds), so
    # admission, waiting and the margin are exercised; the timings mean nothing.
    "tiny": {
        "overhead": {"rounds": 3, "per_round": 10},
        "compliance": {
            "limit": 5, "window": 1, "total": 6, "seed_delay": 0.05, "thread_counts": (8,),
        },
        "fleet": {"processes": 2, "threads": 2, "total": 6, "limit": 5, "window": 1},
        "margin": {"total": 6, "threads": 8, "limit": 5, "margins": ()},
        "margin_fleet": None,
        "cpu": {"count": 100},
        "httpx": {"total": 6, "tasks": 8, "limit": 5, "window": 1.0, "rounds": 2,
                  "per_round": 10},
    },
}  # fmt: skip


def run_cache(quick: bool) -> dict[str, Any]:
    if not (HERE / "cache_bench.py").exists():
        return {"status": "not run", "notes": ["benchmarks/cache_bench.py does not exist yet"]}
    try:
        result = importlib.import_module("cache_bench").run(quick)
    except Exception as exc:  # another module's failure must not sink the suite
        return {"status": "failed", "notes": [f"{type(exc).__name__}: {exc}"]}
    return {"status": "run", "result": result, "notes": []}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    parser.add_argument("--tiny", action="store_true", help="smallest sizes, for the test")
    parser.add_argument("--output-dir", type=Path, default=HERE)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: judge the goals of OUTPUT_DIR/results.json again and rewrite "
        "RESULTS.md, with the repeated margin sweeps and the sections of scripts run alone "
        "(aiohttp_burst.py, fleet_failover.py, redis_hot_path.py) as they are now",
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line for the report's header (the machine's load, other runs); repeatable",
    )
    args = parser.parse_args()
    out: Path = args.output_dir
    if args.report_only:
        return rewrite_report(out, args.note)
    mode = (
        "tiny" if args.tiny or os.environ.get("BENCH_TINY") else "quick" if args.quick else "full"
    )
    sizes = SIZES[mode]
    common.quiet()
    began = time.monotonic()
    results: dict[str, Any] = {
        "mode": mode,
        "command": "python benchmarks/run.py" + ("" if mode == "full" else f" --{mode}"),
        "machine": f"{os.cpu_count()}-core {platform.machine()} {platform.system()}, "
        f"Python {platform.python_version()}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": report.versions(),
        "run_notes": args.note,
    }
    with _own_redis.own_redis() as redis_url, _server.start() as server:
        print(f"[{mode}] overhead")
        results["overhead"] = overhead.measure(server, redis_url=redis_url, **sizes["overhead"])
        print(f"[{mode}] compliance")
        results["compliance"] = compliance.run(server, **sizes["compliance"])
        print(f"[{mode}] fleet")
        results["fleet"] = fleet.run(server, redis_url=redis_url, **sizes["fleet"])
        print(f"[{mode}] margin")
        m = dict(sizes["margin"])
        # Every sweep includes the default margin: the goals judge it.
        margins = sorted({*m.pop("margins"), margin.DEFAULT_SAFETY_MARGIN})
        results["margin"] = margin.run(server, margins, **m)
        mf = sizes["margin_fleet"]
        if mf is not None:
            margins = sorted({*mf["margins"], margin.DEFAULT_SAFETY_MARGIN})
            results["margin_fleet"] = margin.run_fleet(
                server, redis_url, margins, total=mf["total"]
            )
        print(f"[{mode}] cpu per admission")
        results["cpu"] = cpu.measure(redis_url, sizes["cpu"]["count"], own_redis=True)
        if redis_url:
            print(f"[{mode}] redis hot path")
            rounds, per_round = {"full": (15, 1000), "quick": (5, 500), "tiny": (2, 50)}[mode]
            results["redis_hot_path"] = redis_hot_path.measure(redis_url, rounds, per_round)
    if mode == "full":
        # Sentinel and Cluster of our own: a few minutes, so in the full run only.
        print(f"[{mode}] highly available redis")
        try:
            results["redis_ha"] = {
                "fleet": redis_ha.fleet_rows(),
                "failover": redis_ha.failover_rows(),
            }
        except Exception as exc:  # another module's failure must not sink the suite
            results["redis_ha"] = f"{type(exc).__name__}: {exc}"
    print(f"[{mode}] httpx")
    results["httpx"] = run_httpx(sizes["httpx"])
    print(f"[{mode}] cache")
    results["cache"] = run_cache(mode != "full")
    results["seconds"] = time.monotonic() - began
    return _finish(results, out)


def run_httpx(size: dict[str, Any]) -> dict[str, Any] | str:
    """benchmarks/httpx_bench.py at ``size``; why not, when httpx is not installed."""
    try:
        import httpx_bench
    except ImportError as exc:  # the bench extra installs httpx and PyrateLimiter
        return f"not run: {exc.name} is not installed"
    s = dict(size)
    params = {k: s[k] for k in ("total", "tasks", "limit", "window")}
    with _server.start() as server:
        return {
            "compliance_params": params,
            "compliance": httpx_bench.compliance(server, **params),
            "overhead_params": {"rounds": s["rounds"], "per_round": s["per_round"]},
            "overhead": httpx_bench.overhead(server, s["rounds"], s["per_round"]),
        }


def rewrite_report(out: Path, notes: Sequence[str] = ()) -> int:
    """Measure nothing: judge OUTPUT_DIR/results.json again and rewrite RESULTS.md."""
    results = json.loads((out / "results.json").read_text())
    results["run_notes"] = results.get("run_notes", []) + list(notes)
    return _finish(results, out)


def _finish(results: dict[str, Any], out: Path) -> int:
    """Judge the goals and write results.json and RESULTS.md into ``out``."""
    if results["mode"] == "full" and margin.SWEEP_FILE.exists():
        # The repeated sweeps behind the default margin (python benchmarks/margin.py --runs N).
        sweep = json.loads(margin.SWEEP_FILE.read_text())
        results["margin_repeated"] = {k: v for k, v in sweep.items() if k != "runs"}
    if results["mode"] == "full":
        # Sections measured by scripts of their own (aiohttp_burst.py, fleet_failover.py,
        # redis_hot_path.py alone): their last results, so a full run keeps them.
        _report_alone.load(results)
    results["goals"] = report.goals(results)
    out.mkdir(parents=True, exist_ok=True)
    # The sections of scripts run alone stay in their own files, read again each time.
    kept = {k: v for k, v in results.items() if k not in _report_alone.FILES}
    (out / "results.json").write_text(json.dumps(kept, indent=2) + "\n")
    (out / "RESULTS.md").write_text(report.markdown(results))
    for goal in results["goals"]:
        print(f"  {goal['verdict']:<8} {goal['goal']}: {goal['measured']}")
    print(f"wrote {out / 'RESULTS.md'} in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
