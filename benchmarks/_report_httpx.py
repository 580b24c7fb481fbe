"""RESULTS.md section and goals for the httpx transports (benchmarks/httpx_bench.py)."""

from __future__ import annotations

from typing import Any

OURS_ASYNC = "tiktok_adapter.httpx (memory)"
OURS_ASYNC_OVERHEAD = "tiktok_adapter.httpx async"


def _goal(goal: str, measured: str, ok: bool | None) -> dict[str, str]:
    verdict = "NOT RUN" if ok is None else "PASS" if ok else "FAIL"  # the suite's words
    return {"goal": goal, "measured": measured, "verdict": verdict}


def goals(r: dict[str, Any]) -> list[dict[str, str]]:
    hx = r.get("httpx")
    burst_label = "httpx async, default settings: 0 lost, <= 1% 429s, makespan <= 1.05x ideal"
    overhead_label = "httpx async overhead ratio to plain httpx.AsyncClient <= 1.05"
    if not isinstance(hx, dict):
        why = str(hx) if hx else "not run"
        return [_goal(burst_label, why, None), _goal(overhead_label, why, None)]
    out = []
    row = next((x for x in hx["compliance"] if x["contender"] == OURS_ASYNC), None)
    if row is None:
        out.append(_goal(burst_label, "not run", None))
    else:
        ok = row["lost"] == 0 and row["share_429"] <= 0.01 and row["makespan_over_ideal"] <= 1.05
        measured = (
            f"{row['requests']} requests from {row['tasks']} tasks: lost {row['lost']}, "
            f"429s {row['http_429']} ({row['share_429']:.1%}), "
            f"makespan {row['makespan_over_ideal']:.3f}x"
        )
        out.append(_goal(burst_label, measured, ok))
    ratios = {x["contender"]: x["ratio_to_plain"] for x in hx["overhead"]}
    ours = ratios.get(OURS_ASYNC_OVERHEAD)
    peer = ratios.get("PyrateLimiter async")
    if ours is None:
        out.append(_goal(overhead_label, "not run", None))
    else:
        measured = f"{ours:.3f}" + (f" (PyrateLimiter {peer:.3f})" if peer is not None else "")
        out.append(_goal(overhead_label, measured, ours <= 1.05))
    return out


def sections(r: dict[str, Any]) -> list[str]:
    """The httpx section, led by its goals."""
    hx = r.get("httpx")
    if hx is None:
        return []
    import httpx_bench  # only when httpx ran: it imports httpx

    lines = ["## httpx goals", "", "| goal | measured | verdict |", "| --- | --- | --- |"]
    lines += [f"| {g['goal']} | {g['measured']} | **{g['verdict']}** |" for g in goals(r)]
    lines.append("")
    if isinstance(hx, dict):
        lines += [httpx_bench.markdown(hx).replace("## httpx transports", "## httpx", 1), ""]
    return lines
