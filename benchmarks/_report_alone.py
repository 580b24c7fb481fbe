"""RESULTS.md sections measured by scripts of their own, rendered from the JSON they write.

run.py rewrites RESULTS.md whole from results.json. The sections below come from each
script's last run, read again at every rewrite (as the repeated margin sweeps are, from
margin_sweep.json), so a full run keeps them:

- "## aiohttp burst": benchmarks/aiohttp_burst.py, aiohttp_burst.json;
- "## Fleet through outages": benchmarks/fleet_failover.py, fleet_failover.json;
- "## Redis hot path" (and its goal): benchmarks/redis_hot_path.py, redis_hot_path.json,
  when it ran alone after the suite's own measurement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _markdown import table

HERE = Path(__file__).resolve().parent
# results.json key -> the file its script writes.
FILES = {
    "aiohttp_burst": HERE / "aiohttp_burst.json",
    "fleet_outages": HERE / "fleet_failover.json",
    "redis_hot_path_alone": HERE / "redis_hot_path.json",
}


def load(results: dict[str, Any], files: dict[str, Path] = FILES) -> None:
    """Put each script's last result into ``results``, replacing an older copy."""
    for key, path in files.items():
        if path.exists():
            results[key] = json.loads(path.read_text())
        else:
            results.pop(key, None)


def hot_path(r: dict[str, Any]) -> dict[str, Any] | None:
    """The Redis hot path measured last: the suite's own, or redis_hot_path.py's alone."""
    alone: dict[str, Any] | None = r.get("redis_hot_path_alone")
    own: dict[str, Any] | None = r.get("redis_hot_path")
    # Both dates are "YYYY-MM-DD HH:MM UTC": the strings sort as the times do.
    if alone and (not own or alone["date"] > r.get("date", "")):
        return alone
    return own


def hot_path_header(result: dict[str, Any]) -> list[str]:
    """The line that says a hot path was measured apart from the suite, or nothing."""
    if "command" not in result:
        return []
    line = (
        f"Rerun alone on {result['date']} (`{result['command']}`, "
        f"redis-py {result['redis_py']}, hiredis {result['hiredis_version']})"
    )
    return [line + (f", {result['note']}" if result.get("note") else "") + ".", ""]


def aiohttp_section(r: dict[str, Any]) -> list[str]:
    b = r.get("aiohttp_burst")
    if not b:
        return []
    ok = b["lost"] == 0 and b["http_429"] == 0 and b["makespan_over_ideal"] <= b["goal_ratio"]
    lines = [
        "## aiohttp burst",
        "",
        f"{b['requests']} requests from {b['tasks']} asyncio tasks through "
        f"`tiktok_adapter.aiohttp.client_session(limits={{'{b['path']}': '{b['rate']}/second'}})`"
        f", default settings otherwise, against a loopback server that allows {b['rate']} "
        f"arrivals in any second and answers the rest 429. Ideal: the first {b['rate']} at "
        f"once, then {b['rate']} each second: ({b['requests']} - {b['rate']}) / {b['rate']} = "
        f"{b['ideal_s']:.0f} s (`benchmarks/aiohttp_burst.py`).",
        "",
    ]
    lines += table(
        ["sent", "429s", "lost", "makespan", "ideal", "makespan/ideal", "peak per second", "goal"],
        [
            [
                b["sent"],
                b["http_429"],
                b["lost"],
                f"{b['makespan_s']:.2f} s",
                f"{b['ideal_s']:.0f} s",
                f"{b['makespan_over_ideal']:.3f}",
                b["peak_per_second"],
                f"0 lost, no 429, <= {b['goal_ratio']:g}x: **{'PASS' if ok else 'FAIL'}**",
            ]
        ],
    )
    return lines


def outages_section(r: dict[str, Any]) -> list[str]:
    doc = r.get("fleet_outages")
    if not doc:
        return []
    import fleet_failover  # only now: it imports the failover harness of tests/

    return [*fleet_failover.markdown(doc).splitlines(), ""]
