"""The fleet through outages of its shared store (issue #23), on real redis-servers.

4 processes x 4 threads on default settings (only storage_uri, key_prefix and a limit of
10 per second on the path are set) share one quota, against a loopback server that
enforces exactly that limit (429 with TikTok's rate_limit_exceeded body beyond it). The
store fails four ways: a Sentinel master SIGKILLed; a Sentinel master frozen with SIGSTOP
for 8 s, then resumed; a Redis Cluster master SIGKILLed; a plain redis-server stopped for
10 s, then restarted empty. The runs are the failover tests' own (tests/fleet_outages.py).

Each run is judged on the issue's promises: 0 lost, at most 1 429 at the server, no call
that never queued longer than the socket timeout plus one backoff (nor any wait on the
store), the windows on the master before and after, and each process keeping at least
floor(limit / N) in every window of its outage (while its store does not answer) once one
has turned over.

The rows go to benchmarks/fleet_failover.json, where rows of another redis-py version (or
other settings) are kept, and the section "## Fleet through outages" of RESULTS.md is
written from all of them (replaced in place, or added at the end).

    python benchmarks/fleet_failover.py [--runs 3] [--scenario NAME ...] [--app-limit none]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import _markdown  # noqa: E402
import _scenarios_common as common  # noqa: E402
import failover_fleet as ff  # noqa: E402
import fleet_outages as fo  # noqa: E402

HEADING = "## Fleet through outages"
ROWS = HERE / "fleet_failover.json"
RESULTS = HERE / "RESULTS.md"


def verdicts(m: dict[str, Any]) -> dict[str, bool]:
    """Each of the issue's promises, held or not, in one run."""
    kept = [k for k in m["kept"].values() if k is not None]
    return {
        "lost": m["lost"] == 0 and m["responses"] == m["arrivals_200"],
        "429s": m["http_429"] <= 1,
        "no hang": max(m["longest_at_once_s"], m["longest_store_call_s"]) <= ff.LONGEST_CALL,
        "windows on the master": m["windows_before"] and m["windows_after"],
        "share": bool(kept) and min(kept) >= m["share"],
    }


def run(names: list[str], runs: int, settings: dict[str, Any], label: str) -> list[dict[str, Any]]:
    import redis

    rows = []
    for i in range(runs):
        for name in names:
            m = fo.measure(fo.run(fo.SCENARIOS[name], settings=settings))
            m.update(run=i + 1, redis_py=redis.__version__, settings=label, verdicts=verdicts(m))
            kept = ", ".join(f"{k if k is not None else '-'}" for k in m["kept"].values())
            print(f"  {name:<16} run {i + 1}: lost={m['lost']} 429s={m['http_429']} "
                  f"store wait={m['longest_store_call_s']:.2f}s kept=[{kept}] "
                  f"{'PASS' if all(m['verdicts'].values()) else 'FAIL'}")  # fmt: skip
            rows.append(m)
    return rows


def markdown(doc: dict[str, Any]) -> str:
    head = [HEADING, ""]
    head += [
        f"`python benchmarks/fleet_failover.py` ({doc['machine']}, {doc['date']}). "
        f"{ff.PROCESSES} processes x {ff.THREADS} threads, adapters on default settings but "
        f"`storage_uri`, `key_prefix` and `limits={{'/user/info/': '{ff.LIMIT}/second'}}`; "
        f"the loopback server enforces exactly {ff.LIMIT} per {ff.PERIOD:g} s (a sliding "
        "window over arrivals; 429 with TikTok's rate_limit_exceeded body beyond). After a "
        f"{fo.WARM_UP:g} s warm-up the store fails; the fleet goes on {fo.AFTER:g} s after "
        "the way back. Goals per run: 0 lost, <= 1 429, no call that never queued (nor any "
        f"wait on the store) over {ff.LONGEST_CALL:g} s (socket timeout 1 s + backoff 0.1 s "
        "+ 0.5 s slack), windows on the master before and after, and each process sending "
        f"at least floor({ff.LIMIT}/{ff.PROCESSES}) = {ff.LIMIT // ff.PROCESSES} in every "
        f"{ff.PERIOD + ff.MARGIN + ff.LATE:g} s window of its outage (while its "
        "`stats().storage.answering` is False) once one has turned over since the outage "
        "began (the fewest per process is shown; - : its outage was too short to hold one). "
        f"Sentinel's down-after-milliseconds and Cluster's node timeout are {fo.DETECT_MS} "
        "ms, so that a switch is an outage long enough to hold such a window. 'out s' is "
        "the longest a process's store did not answer; 'settling s' the most any process "
        "then stayed degraded until every member was heard from again.",
        "",
    ]
    table = [
        [
            r["topology"], r["failure"], r["settings"], r["redis_py"], r["run"],
            f"{r['back_s']:.1f}", f"{max(r['outage_s'].values()):.1f}",
            f"{max(r.get('unsettled_s', {}).values(), default=0.0):.1f}",
            r["calls"], r["lost"], r["http_429"],
            f"{r['longest_at_once_s']:.2f}", f"{r['longest_store_call_s']:.2f}",
            "yes" if r["windows_before"] and r["windows_after"] else
            f"before {'yes' if r['windows_before'] else 'no'}, after "
            f"{'yes' if r['windows_after'] else 'no'}",
            ", ".join(str(k) if k is not None else "-" for k in r["kept"].values()),
            "PASS" if all(r["verdicts"].values()) else
            "FAIL: " + ", ".join(k for k, ok in r["verdicts"].items() if not ok),
        ]
        for r in doc["rows"]
    ]  # fmt: skip
    head += _markdown.table(
        ["store", "failure", "settings", "redis-py", "run", "back after s", "out s",
         "settling s", "calls", "lost",
         "429s", "longest unqueued call s", "longest store wait s", "windows on master",
         "fewest per process", "verdict"], table,
    )  # fmt: skip
    return "\n".join(head + _markdown.notes(doc)).rstrip() + "\n"


def splice(text: str, section: str) -> str:
    """``text`` with the section replaced where it is, or added at the end."""
    start = text.find(HEADING + "\n")
    if start < 0:
        return text.rstrip() + "\n\n" + section
    end = text.find("\n## ", start + len(HEADING))
    rest = text[end + 1 :] if end >= 0 else ""
    return text[:start] + section + ("\n" + rest if rest else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", action="append", choices=list(fo.SCENARIOS))
    parser.add_argument("--app-limit", help="app_limit for every adapter (default: the default)")
    parser.add_argument("--note", action="append", default=[], help="a note under the table")
    args = parser.parse_args()
    common.quiet()
    settings: dict[str, Any] = {}
    label = "defaults"
    if args.app_limit is not None:
        settings["app_limit"] = None if args.app_limit.lower() == "none" else args.app_limit
        label = f"app_limit={args.app_limit}"
    rows = run(args.scenario or list(fo.SCENARIOS), args.runs, settings, label)
    doc = json.loads(ROWS.read_text()) if ROWS.exists() else {"rows": [], "notes": []}
    again = {(r["scenario"], r["redis_py"], r["settings"]) for r in rows}
    doc["rows"] = [r for r in doc["rows"] if (r["scenario"], r["redis_py"], r["settings"])
                   not in again] + rows  # fmt: skip
    doc["rows"].sort(key=lambda r: (list(fo.SCENARIOS).index(r["scenario"]), r["settings"],
                                    r["redis_py"], r["run"]))  # fmt: skip
    doc["notes"] = list(dict.fromkeys(doc.get("notes", []) + args.note))
    doc["machine"] = (f"{os.cpu_count()}-core {platform.machine()} {platform.system()}, "
                      f"Python {platform.python_version()}")  # fmt: skip
    doc["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ROWS.write_text(json.dumps(doc, indent=2) + "\n")
    RESULTS.write_text(splice(RESULTS.read_text(), markdown(doc)))
    print(f"wrote {ROWS.name} and the section {HEADING!r} of {RESULTS.name}")


if __name__ == "__main__":
    main()
