"""The safety-margin sections of RESULTS.md: one sweep per store, and the repeated sweeps."""

from __future__ import annotations

from typing import Any

from _markdown import notes, table

from tiktok_adapter.settings import DEFAULT_SAFETY_MARGIN

DEFAULT_MARGIN_TEXT = f"{DEFAULT_SAFETY_MARGIN:g} s"


def _margin_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            f"{x['safety_margin']:g} s",
            x["http_429"],
            x["lost"],
            f"{x['makespan_s']:.2f} s",
            f"{x['gap_ms_p50']:.2f} ms",
            f"{x['gap_ms_p99']:.2f} ms",
            f"{x['gap_ms_max']:.2f} ms",
            f"{x['margin_needed_ms']:.2f} ms",
        ]
        for x in rows
    ]


def margin_sections(r: dict[str, Any]) -> list[str]:
    head = ["safety_margin", "429s", "lost", "makespan", "gap p50", "gap p99", "gap max"]
    head.append("margin needed")
    lines = [
        "## Safety margin",
        "",
        "Gap: server arrival minus our admission stamp. Margin needed: the most by which "
        "a request arrived later, relative to its admission, than the one admitted a full "
        "window after it; a margin below it lets the server see one request too many. "
        f"Default: {DEFAULT_MARGIN_TEXT}.",
        "",
        r["margin"]["config"] + ".",
        "",
    ]
    lines += table(head, _margin_rows(r["margin"]["rows"]))
    mf = r.get("margin_fleet")
    if mf is not None:
        lines += [
            mf["config"] + ". Stamps are the middle of each admission call (Redis reads its "
            "own clock inside it), off by at most half of it.",
            "",
        ]
        lines += table(head, _margin_rows(mf["rows"])) + notes(mf)
    rep = r.get("margin_repeated")
    if rep:
        lines += [
            "### Repeated sweeps",
            "",
            "; ".join(f"`{c}`" for c in rep["commands"])
            + f" on {rep['machine']}, last {rep['date']}. Runs per margin, and in how many "
            "of them the server refused at least one request.",
            "",
        ]
        for key in ("memory", "fleet"):
            if rep.get(key):
                lines += [rep[f"{key}_config"] + ".", ""]
                lines += table(
                    ["safety_margin", "runs", "runs with a 429", "429s", "lost",
                     "worst margin needed", "worst gap"],
                    [
                        [f"{x['safety_margin']:g} s", x["runs"], x["runs_with_429"],
                         x["http_429"], x["lost"], f"{x['margin_needed_ms_max']:.2f} ms",
                         f"{x['gap_ms_max']:.2f} ms"]
                        for x in rep[key]
                    ],
                )  # fmt: skip
    return lines
