"""Highly available Redis: the fleet's throughput, and a failover with on_storage_error="raise".

1. Fleet throughput: 4 processes x 4 threads send 200 requests to the loopback server,
   which enforces 10 per second (429 beyond), through adapters on default settings that
   share one Redis: a plain redis-server, then a Sentinel-managed master. Goals: 0 lost,
   at most 1% 429s, makespan at most 1.05x the ideal.
2. Failovers in raise mode: the fleet of the failover tests (tests/fleet_outages.py, 4
   processes x 4 threads at 10 per second) while a Sentinel master, then a Cluster master,
   is killed and a replica promoted, with ``on_storage_error="raise"``: the store's
   failure reaches the caller as StorageUnavailable instead of the fallback. Reported:
   the promotion time, the longest call, the outcomes, and the most arrivals in any 1 s
   window for the fleet (before the failure, after the promotion) and for one process.
   The default mode (the fallback) through the same failures and two more is
   benchmarks/fleet_failover.py's ("## Fleet through outages" in RESULTS.md).

Every server is our own, on free loopback ports (the suite's topologies in tests/).

    python benchmarks/redis_ha.py [--skip-fleet] [--skip-failover] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import _own_redis  # noqa: E402
import _scenarios_common as common  # noqa: E402
import _scenarios_fleet as fleet  # noqa: E402
import _server  # noqa: E402
import failover_fleet as ff  # noqa: E402
import fleet_outages as fo  # noqa: E402
from redis_topologies import SentinelSet  # noqa: E402

FLEET = {"processes": 4, "threads": 4, "total": 200, "limit": 10, "window": 1}
GOALS = {"lost": 0, "share_429": 0.01, "makespan_over_ideal": 1.05}


def fleet_rows(log: Any = print) -> list[dict[str, Any]]:
    rows = []
    with _server.start() as server, _own_redis.own_redis() as plain:
        if plain is None:
            raise SystemExit("redis-server and redis-py are needed for this benchmark")
        sentinels = SentinelSet().up()
        try:
            for name, uri in (("plain Redis", plain), ("Redis Sentinel", sentinels.uri)):
                row = fleet.run_one(server, "redis", redis_url=uri, budget=90.0, **FLEET)
                row["contender"] = f"tiktok_adapter ({name})"
                row["config"] = row["config"].replace("a shared redis://", name)
                row["goals_met"] = (
                    row["lost"] <= GOALS["lost"]
                    and row["share_429"] <= GOALS["share_429"]
                    and (row["makespan_over_ideal"] or 0) <= GOALS["makespan_over_ideal"]
                )
                log(
                    f"  {name:<15} lost={row['lost']} 429s={row['http_429']} "
                    f"makespan={row['makespan_s']:.2f}s x{row['makespan_over_ideal']:.3f}"
                )
                rows.append(row)
        finally:
            sentinels.close()
    return rows


def _failover(name: str) -> dict[str, Any]:
    """One of the outage scenarios in raise mode, on defaults otherwise."""
    run = fo.run(fo.SCENARIOS[name], mode="raise")
    m = fo.measure(run)
    calls = [c for report in run.reports for c in report.calls]
    stamps = [a.at for a in run.arrivals]
    return {
        "scenario": name,
        "topology": run.scenario.topology,
        "on_storage_error": run.mode,
        "master": "dies (SIGKILL)" if run.scenario.how == "kill" else "hangs (SIGSTOP)",
        "processes": ff.PROCESSES,
        "threads": ff.THREADS,
        "promotion_s": m["back_s"],
        "longest_call_s": max((c.seconds for c in calls), default=0.0),
        "calls": m["calls"],
        "outcomes": m["outcomes"],
        "lost": m["lost"],
        "http_429": m["http_429"],
        "limit_per_s": ff.LIMIT,
        "fleet_most_per_window": m["fleet_most_per_window"],
        "fleet_most_before": fo.most_in_a_window(stamps, ff.PERIOD, until=run.failed_at),
        "fleet_most_after_rejoin": fo.most_in_a_window(stamps, ff.PERIOD, since=run.back_at),
        "process_most_per_window": max(
            fo.most_in_a_window([a.at for a in run.arrivals if a.worker == r.worker], ff.PERIOD)
            for r in run.reports
        ),
    }


def failover_rows(log: Any = print) -> list[dict[str, Any]]:
    rows = []
    for name in ("sentinel-kill", "cluster-kill"):
        row = _failover(name)
        log(
            f"  {row['topology']:<8} {row['on_storage_error']:<8} "
            f"promotion={row['promotion_s']:.1f}s longest call={row['longest_call_s']:.2f}s "
            f"fleet max/window={row['fleet_most_per_window']} "
            f"process max={row['process_most_per_window']}"
        )
        rows.append(row)
    return rows


def markdown(result: dict[str, Any]) -> str:
    lines: list[str] = []
    if result.get("fleet"):
        lines += [
            f"Fleet: {FLEET['processes']} processes x {FLEET['threads']} threads, "
            f"{FLEET['total']} requests, the server enforcing {FLEET['limit']} per second; "
            "default settings. Goals: 0 lost, <= 1% 429s, makespan <= 1.05x ideal.",
            "",
            "| store | lost | 429s | makespan s | ideal s | x ideal | goals |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in result["fleet"]:
            lines.append(
                f"| {r['contender']} | {r['lost']} | {r['http_429']} ({r['share_429']:.1%}) | "
                f"{r['makespan_s']:.2f} | {r['ideal_s']:.2f} | {r['makespan_over_ideal']:.3f} | "
                f"{'PASS' if r['goals_met'] else 'FAIL'} |"
            )
        lines.append("")
    # Rows in the fallback mode (measured before benchmarks/fleet_failover.py took them
    # over) are left out: "## Fleet through outages" has that mode now.
    raised = [r for r in result.get("failover") or [] if r["on_storage_error"] == "raise"]
    if raised:
        first = raised[0]
        # Rows from before the fleet of tests/fleet_outages.py carry no fleet size.
        fleet_text = (
            f"{first['processes']} processes x {first['threads']} threads, limit "
            f"{first['limit_per_s']} per second, on default settings otherwise"
            if "threads" in first
            else f"4 processes x 2 threads, limit {first['limit_per_s']} per second, "
            "refusals raised"
        )
        lines += [
            f'Failovers with `on_storage_error="raise"`: {fleet_text}; arrivals counted at '
            "the loopback server. The default mode (the fallback) through these failures "
            'and two more: "Fleet through outages" below.',
            "",
            "| topology | mode | master | promotion s | longest call s | lost | outcomes | "
            "fleet max/1 s (before, after) | one process max/1 s |",
            "| --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: |",
        ]
        for r in raised:
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
            lines.append(
                f"| {r['topology']} | {r['on_storage_error']} | {r['master']} | "
                f"{r['promotion_s']:.1f} | {r['longest_call_s']:.2f} | {r['lost']} | {outcomes} | "
                f"{r['fleet_most_per_window']} ({r['fleet_most_before']}, "
                f"{r['fleet_most_after_rejoin']}) | {r['process_most_per_window']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--skip-failover", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    common.quiet()
    result: dict[str, Any] = {}
    if not args.skip_fleet:
        result["fleet"] = fleet_rows()
    if not args.skip_failover:
        result["failover"] = failover_rows()
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
