"""RESULTS.md sections and goals for the Redis hot path and for highly available Redis."""

from __future__ import annotations

from typing import Any

import redis_ha
import redis_hot_path
from _report_alone import hot_path, hot_path_header


def _goal(goal: str, measured: str, ok: bool | None) -> dict[str, str]:
    verdict = "NOT RUN" if ok is None else "PASS" if ok else "FAIL"  # the suite's words
    return {"goal": goal, "measured": measured, "verdict": verdict}


def goals(r: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    hot = hot_path(r)
    label = f"Redis adds <= {redis_hot_path.GOAL_MS} ms per admission vs memory"
    if hot:
        out.append(_goal(label, f"worst {hot['worst_redis_adds_ms']:.3f} ms", hot["goal_met"]))
    else:
        out.append(_goal(label, "not run (no redis-server)", None))
    ha = r.get("redis_ha") or {}
    for row in ha.get("fleet", []):
        measured = (
            f"lost {row['lost']}, 429s {row['share_429']:.1%}, "
            f"makespan {row['makespan_over_ideal']:.3f}x ideal"
        )
        out.append(_goal(f"fleet on {row['contender']}", measured, row["goals_met"]))
    return out


def sections(r: dict[str, Any]) -> list[str]:
    """The Redis sections, led by their goals (judged here, apart from the suite's goals)."""
    lines: list[str] = []
    judged = goals(r)
    hot = hot_path(r)
    if hot or r.get("redis_ha"):
        lines += ["## Redis goals", "", "| goal | measured | verdict |", "| --- | --- | --- |"]
        lines += [f"| {g['goal']} | {g['measured']} | **{g['verdict']}** |" for g in judged]
        lines.append("")
    if hot:
        lines += ["## Redis hot path", "", *hot_path_header(hot), redis_hot_path.markdown(hot), ""]
    if r.get("redis_ha"):
        lines += ["## Highly available Redis", "", redis_ha.markdown(r["redis_ha"]), ""]
    elif "redis_ha" in r:
        lines += ["## Highly available Redis", "", "Not run: " + str(r["redis_ha"]), ""]
    return lines
