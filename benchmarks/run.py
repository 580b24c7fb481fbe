"""Run every benchmark scenario; write benchmarks/RESULTS.md and benchmarks/results.json."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _scenarios_common as common  # noqa: E402
import _scenarios_compliance as compliance  # noqa: E402
import _scenarios_cpu as cpu  # noqa: E402
import _scenarios_fleet as fleet  # noqa: E402
import _scenarios_report as report  # noqa: E402
import _server  # noqa: E402
import margin  # noqa: E402
import overhead  # noqa: E402

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "overhead": {"rounds": 60, "per_round": 100},
        # A 2 s window: the margin costs margin/window of throughput, which a 1 s
        # window would inflate to 5% (TikTok's windows are minutes and hours).
        "compliance": {"limit": 10, "window": 2, "total": 40, "seed_delay": 2.0},
        "fleet": {"processes": 4, "threads": 4, "total": 200, "limit": 10, "window": 1},
        "margin": {"total": 100, "threads": 8, "limit": 5, "margins": (0.0, None)},
        "cpu": {"count": 5000},
    },
    "quick": {
        "overhead": {"rounds": 15, "per_round": 100},
        "compliance": {"limit": 10, "window": 2, "total": 20, "seed_delay": 2.0},
        "fleet": {"processes": 4, "threads": 4, "total": 40, "limit": 10, "window": 1},
        "margin": {"total": 40, "threads": 8, "limit": 5, "margins": (None,)},
        "cpu": {"count": 2000},
    },
    # Only proves that the script works; its numbers mean nothing.
    "tiny": {
        "overhead": {"rounds": 3, "per_round": 10},
        "compliance": {"limit": 5, "window": 1, "total": 5, "seed_delay": 0.05},
        "fleet": {"processes": 2, "threads": 2, "total": 4, "limit": 5, "window": 1},
        "margin": {"total": 5, "threads": 2, "limit": 5, "margins": (None,)},
        "cpu": {"count": 100},
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def own_redis() -> Iterator[str | None]:
    """A private redis-server, so its command statistics count our commands only."""
    binary = shutil.which("redis-server")
    if binary is None or not common.installed("redis"):
        yield None
        return
    import redis

    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        for _ in range(50):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.1)
        client.close()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
    args = parser.parse_args()
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
    }
    with own_redis() as redis_url, _server.start() as server:
        print(f"[{mode}] overhead")
        results["overhead"] = overhead.measure(server, redis_url=redis_url, **sizes["overhead"])
        print(f"[{mode}] compliance")
        results["compliance"] = compliance.run(server, **sizes["compliance"])
        print(f"[{mode}] fleet")
        results["fleet"] = fleet.run(server, redis_url=redis_url, **sizes["fleet"])
        print(f"[{mode}] margin")
        m = dict(sizes["margin"])
        margins = [margin.DEFAULT_SAFETY_MARGIN if x is None else x for x in m.pop("margins")]
        results["margin"] = margin.run(server, margins, **m)
        print(f"[{mode}] cpu per admission")
        results["cpu"] = cpu.measure(redis_url, sizes["cpu"]["count"], own_redis=True)
    print(f"[{mode}] cache")
    results["cache"] = run_cache(mode != "full")
    results["goals"] = report.goals(results)
    results["seconds"] = time.monotonic() - began
    out: Path = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "RESULTS.md").write_text(report.markdown(results))
    for goal in results["goals"]:
        print(f"  {goal['verdict']:<8} {goal['goal']}: {goal['measured']}")
    print(f"wrote {out / 'RESULTS.md'} in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
