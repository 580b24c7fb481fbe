"""Highly available Redis: the fleet's throughput, and what a failover costs.

1. Fleet throughput: 4 processes x 4 threads send 200 requests to the loopback server,
   which enforces 10 per second (429 beyond), through adapters on default settings that
   share one Redis: a plain redis-server, then a Sentinel-managed master. Goals: 0 lost,
   at most 1% 429s, makespan at most 1.05x the ideal.
2. Failovers: 4 worker processes (2 threads each, limit 10 per second, refusals raised)
   call a loopback server while the master fails (Sentinel: a master and a replica behind
   3 Sentinels; Cluster: 3 masters and 3 replicas) and a replica is promoted. Reported:
   the promotion time, the longest call, the outcomes, and the most arrivals in any 1 s
   window for the fleet and for one process.

Every server is our own, on free loopback ports (the suite's topologies in tests/).

    python benchmarks/redis_ha.py [--skip-fleet] [--skip-failover] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
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
from redis_topologies import Cluster, SentinelSet  # noqa: E402

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


def _failover(kind: str, mode: str, how: str) -> dict[str, Any]:
    prefix = f"ha-{kind}-{uuid.uuid4().hex[:8]}"
    topology: Any = SentinelSet() if kind == "sentinel" else Cluster()
    with topology, ff.ArrivalServer().serving() as server:
        topology.up()
        start = time.monotonic() + 4.0
        run = ff.run_fleet(topology.uri, prefix, mode, server.url, start, start + ff.RUN,
                           processes=ff.PROCESSES)  # fmt: skip
        if kind == "sentinel":
            victim, replica = topology.master, topology.replica
        else:
            slot = topology.slot_of("{" + prefix + "}")
            victim, replica = topology.owner(slot)
        time.sleep(max(0.0, start + ff.WARM_UP - time.monotonic()))
        failed = time.monotonic()
        (topology.freeze if how == "freeze" else topology.kill)(victim)
        promoted = (topology.wait_promoted() if kind == "sentinel"
                    else topology.wait_promoted(slot, replica))  # fmt: skip
        calls = [c for worker in run.result(timeout=ff.RUN + 90) for c in worker]
        arrivals = list(server.arrivals)
    stamps = [t for t, _ in arrivals]
    outcomes = Counter(c.outcome for c in calls)
    degraded = [c.start + c.seconds for c in calls if c.degraded]
    rejoined = max(degraded) if degraded else failed
    return {
        "topology": kind,
        "on_storage_error": mode,
        "master": "hangs (SIGSTOP)" if how == "freeze" else "dies (SIGKILL)",
        "promotion_s": promoted - failed,
        "longest_call_s": max(c.seconds for c in calls),
        "calls": len(calls),
        "outcomes": dict(outcomes),
        "lost": outcomes["ok"] - len(arrivals),
        "foreign_exceptions": sum(1 for c in calls if c.outcome != "ok" and not c.in_package),
        "limit_per_s": ff.LIMIT,
        "fleet_most_per_window": ff.most_in_a_window(stamps, ff.PERIOD),
        "fleet_most_before": ff.most_in_a_window(stamps, ff.PERIOD, until=failed),
        "fleet_most_after_rejoin": ff.most_in_a_window(stamps, ff.PERIOD, since=rejoined),
        "process_most_per_window": max(
            ff.most_in_a_window([t for t, w in arrivals if w == i], ff.PERIOD)
            for i in range(ff.PROCESSES)
        ),
    }


def failover_rows(log: Any = print) -> list[dict[str, Any]]:
    rows = []
    for kind in ("sentinel", "cluster"):
        for mode, how in (("fallback", "freeze"), ("raise", "kill")):
            row = _failover(kind, mode, how)
            log(
                f"  {kind:<8} {mode:<8} promotion={row['promotion_s']:.1f}s "
                f"longest call={row['longest_call_s']:.2f}s fleet max/window="
                f"{row['fleet_most_per_window']} process max={row['process_most_per_window']}"
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
    if result.get("failover"):
        lines += [
            f"Failovers: {ff.PROCESSES} processes x 2 threads, limit {ff.LIMIT} per second, "
            "refusals raised; arrivals counted at the loopback server.",
            "",
            "| topology | mode | master | promotion s | longest call s | lost | outcomes | "
            "fleet max/1 s (before, after) | one process max/1 s |",
            "| --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: |",
        ]
        for r in result["failover"]:
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
