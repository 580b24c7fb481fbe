"""The goals, judged on the measured numbers, and the markdown report."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import _report_alone
import _report_httpx
import _report_overhead
import _report_redis
from _markdown import notes as _notes
from _markdown import table as _table
from _report_margin import DEFAULT_MARGIN_TEXT, margin_sections

ADAPTER_MEMORY = "tiktok_adapter (memory)"
ADAPTER_REDIS = "tiktok_adapter (redis)"
PASS, FAIL, NOT_RUN = "PASS", "FAIL", "NOT RUN"


def versions() -> dict[str, str]:
    found = {}
    for name in (
        "tiktok-adapter",
        "requests",
        "urllib3",
        "redis",
        "requests-ratelimiter",
        "pyrate-limiter",
        "limits",
    ):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _row(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def _goal(goal: str, measured: str, ok: bool | None) -> dict[str, str]:
    return {
        "goal": goal,
        "measured": measured,
        "verdict": NOT_RUN if ok is None else PASS if ok else FAIL,
    }


def _burst_goal(
    label: str, row: dict[str, Any] | None, ratio_cap: float, max_429_share: float
) -> dict[str, str]:
    allowed = "0 429s" if max_429_share == 0 else f"<= {max_429_share:.0%} 429s"
    goal = f"{label}: 0 lost, {allowed}, makespan <= {ratio_cap:.2f}x ideal"
    if row is None:
        return _goal(goal, "not run", None)
    ratio = row["makespan_over_ideal"]
    measured = f"lost {row['lost']}, 429s {row['http_429']} ({row['share_429']:.1%})" + (
        f", makespan {ratio:.3f}x" if ratio is not None else ""
    )
    ok = row["lost"] == 0 and row["share_429"] <= max_429_share
    if ratio is not None:
        ok = ok and ratio <= ratio_cap
    return _goal(goal, measured, ok)


def _margin_goal(label: str, section: dict[str, Any] | None) -> dict[str, str]:
    """The sweep's row at the default margin: not one 429."""
    if not section or not section.get("rows"):
        return _goal(f"{label}: 0 429s", "not run", None)
    rows = section["rows"]
    first = rows[0]
    who = (
        f"{first['threads']} threads"
        if "processes" not in section
        else f"{section['processes']} processes x {section['threads']} threads"
    )
    goal = (
        f"{label}, {who}, {first['requests']} requests at {section['limit']} per "
        f"{section['window_s']:g} s, default safety_margin ({DEFAULT_MARGIN_TEXT}): 0 429s"
    )
    row = _row(rows, safety_margin=section["default_margin"])
    if row is None:
        return _goal(goal, "not run", None)
    return _goal(goal, f"{row['http_429']} 429s, {row['lost']} lost", row["http_429"] == 0)


def goals(r: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    out += _report_overhead.goals(r["overhead"])
    rows = r["compliance"]["rows"]
    for threads in sorted({x["threads"] for x in rows}):
        row = _row(rows, contender=ADAPTER_MEMORY, threads=threads)
        label = f"compliance, {threads} thread(s), default settings"
        out.append(_burst_goal(label, row, 1.05, 0.0))
    fl = r["fleet"]["rows"]
    redis_row = _row(fl, contender=ADAPTER_REDIS)
    out.append(_burst_goal("fleet on Redis, default settings", redis_row, 1.05, 0.01))
    out.append(_margin_goal("memory", r["margin"]))
    if "margin_fleet" in r:
        out.append(_margin_goal("fleet on Redis", r["margin_fleet"]))
    cache = r["cache"]
    res = cache.get("result") if isinstance(cache.get("result"), dict) else {}
    sent = res.get("server_arrivals", res.get("server_requests"))
    distinct = res.get("distinct_queries")
    if cache["status"] != "run" or sent is None or distinct is None:
        out.append(_goal("cache: exactly one request per distinct query", cache["status"], None))
    else:
        out.append(
            _goal(
                "cache: exactly one request per distinct query",
                f"{sent} requests for {distinct} distinct queries",
                sent == distinct,
            )
        )
    delta = r["overhead"].get("redis_minus_memory_ms")
    out.append(
        _goal(
            "Redis adds <= 0.5 ms per request vs memory",
            f"{delta:.3f} ms" if delta is not None else "not run",
            delta <= 0.5 if delta is not None else None,
        )
    )
    return out


def _ratio(x: float | None) -> str:
    return f"{x:.3f}x" if x is not None else "n/a"


def _burst_rows(rows: list[dict[str, Any]], threads: bool) -> list[list[Any]]:
    return [
        ([r["threads"]] if threads else [])
        + [
            r["contender"],
            f"`{r['config']}`",
            r["sent"],
            f"{r['http_429']} ({r['share_429']:.1%})",
            r["lost"],
            f"{r['makespan_s']:.2f} s",
            f"{r['ideal_s']:g} s",
            _ratio(r["makespan_over_ideal"]),
            r["peak_sent_per_window"],
            r["note"],
        ]
        for r in rows
    ]


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"{r['machine']}; {r['date']}; `{r['command']}` ({r['mode']} sizes, "
        f"{r.get('seconds', 0):.0f} s).",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()) + ".",
        "The loopback server runs in a process of its own and counts each request on arrival.",
        "",
        *[f"- {n}" for n in r.get("run_notes", [])],
        *([""] if r.get("run_notes") else []),
        "## Goals",
        "",
    ]
    lines += _table(
        ["goal", "measured", "verdict"],
        [[g["goal"], g["measured"], f"**{g['verdict']}**"] for g in r["goals"]],
    )
    lines += _report_overhead.section(r["overhead"])
    head = [
        "contender",
        "configuration",
        "sent",
        "429s",
        "lost",
        "makespan",
        "ideal",
        "makespan/ideal",
        "peak sent per window",
        "note",
    ]
    co = r["compliance"]
    lines += [
        "## Compliance",
        "",
        f"{co['requests']} requests to one endpoint at once; server: {co['server']}. "
        "Ideal: the first burst at once, then the limit again every window.",
        "",
    ]
    lines += _table(["threads", *head], _burst_rows(co["rows"], True)) + _notes(co)
    fl = r["fleet"]
    lines += [
        "## Fleet",
        "",
        f"{fl['processes']} processes x {fl['threads']} threads, {fl['requests']} requests "
        f"in total, {fl['limit']} per {fl['window_s']:g} s enforced by the server.",
        "",
    ]
    lines += _table(head, _burst_rows(fl["rows"], False)) + _notes(fl)
    lines += margin_sections(r)
    cp = r["cpu"]
    lines += [
        "## CPU per admission",
        "",
        f"{cp['admissions']} admissions that never bind, timed directly.",
        "",
    ]
    lines += _table(
        [
            "store",
            "store.acquire wall",
            "store.acquire CPU",
            "adapter.admit wall",
            "adapter.admit CPU",
        ],
        [
            [
                x["store"],
                f"{x['acquire_us']:.1f} µs",
                f"{x['acquire_cpu_us']:.1f} µs",
                f"{x['admit_us']:.1f} µs",
                f"{x['admit_cpu_us']:.1f} µs",
            ]
            for x in cp["rows"]
        ],
    )
    if "redis_commands_per_admission" in cp:
        per = ", ".join(f"{k} {v:g}" for k, v in cp["redis_commands_per_admission"].items())
        lines += [
            f"Redis per admission: {cp['redis_round_trips_per_admission']:g} round trip; "
            f"{cp['redis_commands_total_per_admission']:g} commands counted by INFO "
            f"commandstats ({per}).",
            "",
        ]
    lines += _notes(cp)
    lines += _report_redis.sections(r)
    lines += _report_httpx.sections(r)
    lines += _report_alone.aiohttp_section(r)
    ca = r["cache"]
    lines += ["## Cache", "", f"Status: {ca['status']}.", ""]
    if isinstance(ca.get("result"), dict):
        lines += _table(["key", "value"], [[k, v] for k, v in ca["result"].items()])
    lines += _notes(ca)
    lines += _report_alone.outages_section(r)
    return "\n".join(lines).rstrip() + "\n"
