"""The overhead's goals (issue #24 item 7) and its section of RESULTS.md."""

from __future__ import annotations

from typing import Any

from _markdown import notes, table

ADAPTER_MEMORY = "tiktok_adapter (memory)"
PYRATE, RRL = "PyrateLimiter", "requests-ratelimiter"
# At most 1.03x plain requests, within 0.02 of PyrateLimiter's in the same run, and at
# most 15 calls into the package for a plain 200.
OVERHEAD_CAP, OVERHEAD_TO_PYRATE, CALLS_CAP = 1.03, 0.02, 15


def _row(rows: list[dict[str, Any]], contender: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["contender"] == contender), None)


def _interval(bounds: list[float] | None, signed: bool = False) -> str:
    if not bounds:
        return "not kept"
    return "{:+.3f} to {:+.3f}".format(*bounds) if signed else "{:.3f} to {:.3f}".format(*bounds)


def _goal(goal: str, measured: str, ok: bool | None) -> dict[str, str]:
    verdict = "NOT RUN" if ok is None else "PASS" if ok else "FAIL"  # the suite's words
    return {"goal": goal, "measured": measured, "verdict": verdict}


def goals(ov: dict[str, Any]) -> list[dict[str, str]]:
    """Issue #24 item 7: at most 1.03x plain requests, within 0.02 of PyrateLimiter's in
    the same run, and at most 15 calls into the package for a plain 200."""
    rows = ov["rows"]
    ours = _row(rows, ADAPTER_MEMORY)
    assert ours is not None
    ratio = ours["ratio_to_plain"]
    pyrate, rrl = _row(rows, PYRATE), _row(rows, RRL)
    text = f"{ratio:.3f}" + "".join(
        f", {name} {peer['ratio_to_plain']:.3f}" if peer else f" ({name} not installed)"
        for name, peer in ((PYRATE, pyrate), (RRL, rrl))
    )
    ok = ratio <= OVERHEAD_CAP and (
        pyrate is None or ratio <= pyrate["ratio_to_plain"] + OVERHEAD_TO_PYRATE
    )
    goal = (
        f"overhead ratio to plain <= {OVERHEAD_CAP:g} and within {OVERHEAD_TO_PYRATE:g} "
        f"of {PYRATE}'s"
    )
    out = [_goal(goal, text, ok)]
    calls = ov.get("package_calls")
    goal = f"calls into tiktok_adapter for a plain 200 <= {CALLS_CAP}"
    if calls is None:
        out.append(_goal(goal, "not run", None))
    else:
        measured = f"{calls['calls']} calls in {calls['modules']} modules"
        out.append(_goal(goal, measured, calls["calls"] <= CALLS_CAP))
    return out


def section(ov: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    lines += [
        "## Overhead",
        "",
        f"Sequential GETs to a fast loopback endpoint, {ov['rounds']} rounds of "
        f"{ov['per_round']} per contender, interleaved"
        + (
            f"; each contender as {ov['instances']} sessions (their medians averaged), every "
            "round on new connections and in a new order"
            if ov.get("instances", 1) > 1
            else ""
        )
        + ". Ratio: the median over rounds of (median request time / plain's), with a 95% "
        "bootstrap interval of that median over the rounds; ratio of mean times: the same "
        "with each round's mean, which also counts requests that lost the CPU to another "
        "process.",
        "",
    ]
    head = ["contender", "configuration", "µs per request", "ratio to plain", "95% interval"]
    lines += table(
        [*head, "ratio of mean times"],
        [
            [
                x["contender"],
                f"`{x['config']}`",
                f"{x['us_per_request']:.0f}",
                f"{x['ratio_to_plain']:.3f}",
                _interval(x.get("ratio_interval")),
                f"{x['ratio_of_means']:.3f}",
            ]
            for x in ov["rows"]
        ],
    )
    gap = ov.get("minus_pyrate")
    if gap:
        lines += [
            f"The adapter's ratio minus {PYRATE}'s, round by round: {gap['median']:+.3f} "
            f"(95% interval {_interval(gap['interval'], signed=True)}).",
            "",
        ]
    floor = ov.get("plain_second_session")
    if floor:
        lines += [
            "The noise floor: plain requests' second session against its first, round by "
            f"round, {floor['median']:.3f} (95% interval {_interval(floor['interval'])}); "
            "the same code, so any distance from 1 is the machine's.",
            "",
        ]
    if "redis_minus_memory_ms" in ov:
        lines += [f"Redis minus memory, per request: {ov['redis_minus_memory_ms']:.3f} ms.", ""]
    calls = ov.get("package_calls")
    if calls:
        per = ", ".join(f"{k} {v}" for k, v in calls["per_module"].items())
        lines += [
            f"Calls into tiktok_adapter for one plain 200 (memory, after warm-up): "
            f"{calls['calls']} Python function calls in {calls['modules']} modules "
            f"(`sys.setprofile` call events whose code lives in the package; a generator's "
            f"resumption counts): {per}.",
            "",
        ]
    lines += notes(ov)
    return lines
