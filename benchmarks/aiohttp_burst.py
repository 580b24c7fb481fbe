"""aiohttp: a burst through the middleware against a server that enforces 10 per second.

300 requests from 100 concurrent asyncio tasks, through ``tiktok_adapter.aiohttp``'s
``client_session`` with default settings and ``limits={"/bench/": "10/second"}``, against
the loopback server (benchmarks/_server.py, in a child process) that allows exactly 10
arrivals in any second (a sliding log) and answers the rest 429 with Retry-After.

- lost: requests that ended without a 200 (an exception or another status);
- 429s: arrivals the server refused;
- makespan: from the first send to the last answer;
- ideal: (300 - 10) / 10 = 29 s: the first 10 go at once, then 10 more each second, so
  the last ten go out 29 s after the first.

Goal: 0 lost, no 429, makespan at most 1.05x the ideal.
Run: ``python benchmarks/aiohttp_burst.py`` (``--markdown`` prints the RESULTS.md section).
The numbers go to benchmarks/aiohttp_burst.json, from which ``python benchmarks/run.py``
(and ``--report-only``) writes the section.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server

from tiktok_adapter.aiohttp import client_session

REQUESTS, TASKS, RATE = 300, 100, 10
IDEAL = (REQUESTS - RATE) / RATE
PATH = "/bench/"
JSON = Path(__file__).resolve().parent / "aiohttp_burst.json"


async def burst(base_url: str) -> tuple[int, float]:
    """Send the burst; the requests lost and the makespan in seconds."""
    todo = iter(range(REQUESTS))
    lost = 0

    async with client_session(base_url=base_url, limits={PATH: f"{RATE}/second"}) as session:

        async def worker() -> None:
            nonlocal lost
            for _ in todo:
                try:
                    async with session.get(PATH) as response:
                        await response.read()
                        lost += response.status != 200
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    lost += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(TASKS)))
        return lost, time.monotonic() - started


def write_json(sent: int, refused: int, lost: int, makespan: float, peak: int) -> None:
    """The run's numbers, for RESULTS.md (rendered by benchmarks/_report_alone.py)."""
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()}-core {platform.machine()} {platform.system()}, "
        f"Python {platform.python_version()}",
        "requests": REQUESTS,
        "tasks": TASKS,
        "rate": RATE,
        "path": PATH,
        "sent": sent,
        "http_429": refused,
        "lost": lost,
        "makespan_s": makespan,
        "ideal_s": IDEAL,
        "makespan_over_ideal": makespan / IDEAL,
        "peak_per_second": peak,
        "goal_ratio": 1.05,
    }
    JSON.write_text(json.dumps(doc, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print the RESULTS.md section")
    args = parser.parse_args()
    with _server.start() as server:
        server.reset(limit=RATE, window=1.0)
        lost, makespan = asyncio.run(burst(server.base_url))
        seen = server.arrivals()
    ratio = makespan / IDEAL
    verdict = "PASS" if lost == 0 and seen.refused == 0 and ratio <= 1.05 else "FAIL"
    peak = seen.max_in_window(1.0)
    write_json(seen.ok + seen.refused, seen.refused, lost, makespan, peak)
    if not args.markdown:
        print(f"sent {seen.ok + seen.refused}, 429s {seen.refused}, lost {lost}, "
              f"makespan {makespan:.2f} s, ideal {IDEAL:.0f} s, ratio {ratio:.3f}, "
              f"peak per second {peak}: {verdict}")  # fmt: skip
        return
    print("## aiohttp burst\n")
    print(f"{REQUESTS} requests from {TASKS} asyncio tasks through "
          f"`tiktok_adapter.aiohttp.client_session(limits={{'{PATH}': '{RATE}/second'}})`, "
          f"default settings otherwise, against a loopback server that allows {RATE} "
          f"arrivals in any second and answers the rest 429. Ideal: the first {RATE} at "
          f"once, then {RATE} each second: ({REQUESTS} - {RATE}) / {RATE} = {IDEAL:.0f} s "
          "(`benchmarks/aiohttp_burst.py`).\n")  # fmt: skip
    print("| sent | 429s | lost | makespan | ideal | makespan/ideal | peak per second | goal |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {seen.ok + seen.refused} | {seen.refused} | {lost} | {makespan:.2f} s | "
          f"{IDEAL:.0f} s | {ratio:.3f} | {peak} | 0 lost, no 429, <= 1.05x: "
          f"**{verdict}** |")  # fmt: skip


if __name__ == "__main__":
    main()
