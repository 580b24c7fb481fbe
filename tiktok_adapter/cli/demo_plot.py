"""``demo --plot``: each endpoint's requests against its windows' limits, as a PNG.

For every window of an endpoint's limits ("10/minute", "100/hour") a panel draws how
many requests the simulator saw in the trailing window at each moment, as a share of
that window's limit; the adapter works if every line stays at or under 100%. 429s are
marked where they arrived. Needs matplotlib (the ``plot`` extra); no pyplot, so no
global backend is chosen for the caller.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from os import PathLike
from typing import Any

from ..testing import parse_limits
from .demo_report import Arrival, DemoReport

APP = "app"
_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple")


def occupancy(times: Sequence[float], period: float) -> tuple[list[float], list[int]]:
    """The count of ``times`` in the trailing window (t - period, t], as a step function.

    Returns the moments at which the count changes and the count from each moment on.
    A request leaves the window exactly ``period`` after it arrived, before any request
    arriving at that same moment is counted.
    """
    events = sorted([(t, 1) for t in times] + [(t + period, -1) for t in times])
    xs: list[float] = [0.0]
    ys: list[int] = [0]
    for moment, step in events:
        if moment == xs[-1]:
            ys[-1] += step
        else:
            xs.append(moment)
            ys.append(ys[-1] + step)
    return xs, ys


def _panels(report: DemoReport) -> list[tuple[str, str, list[Arrival]]]:
    limits = dict(report.limits or {})
    panels = []
    for name, spec in limits.items():
        mine = [a for a in report.arrivals if a.endpoint == name]
        if mine:
            panels.append((name, spec, mine))
    if report.app_limit:
        counted = [a for a in report.arrivals if a.endpoint in limits or a.endpoint == "(other)"]
        panels.append((APP, report.app_limit, counted))
    return panels


def plot_report(report: DemoReport, path: str | PathLike[str]) -> None:
    """Write the PNG; one panel per endpoint that was called, and one for the app limit."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = _panels(report)
    columns = 2
    rows = max(1, math.ceil(len(panels) / columns))
    figure = Figure(figsize=(12, 2.8 * rows + 0.9), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(
        f"tiktok_adapter demo: requests in each trailing window, as a share of its limit "
        f"(x{report.time_scale:g}; {sum(a.refused for a in report.arrivals)} refused, marked x)",
        fontsize=12,
    )
    end = max(report.makespan, max((a.time for a in report.arrivals), default=0.0)) / 60
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True)
    for index, (name, spec, arrivals) in enumerate(panels):
        _panel(axes[index // columns][index % columns], name, spec, arrivals, end)
    for index in range(len(panels), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("simulated minutes")
    figure.savefig(path)


def _panel(ax: Any, name: str, spec: str, arrivals: list[Arrival], end: float) -> None:
    accepted = [a.time for a in arrivals if not a.refused]
    for colour, rate in zip(itertools.cycle(_COLOURS), parse_limits(spec)):
        xs, ys = occupancy(accepted, rate.period)
        shares = [100.0 * y / rate.amount for y in ys]
        ax.step([x / 60 for x in xs], shares, where="post", color=colour, linewidth=1.4,
                label=f"{rate.text or rate.amount} (max {max(ys)} of {rate.amount})")  # fmt: skip
    ax.axhline(100, color="tab:red", linestyle="--", linewidth=1, label="limit", zorder=3)
    refused = [a.time / 60 for a in arrivals if a.refused]
    if refused:
        ax.plot(refused, [100] * len(refused), "x", color="tab:red", markersize=8,
                label=f"429 ({len(refused)})")  # fmt: skip
    ax.set_title(f"{name}  ({len(accepted)} requests)", fontsize=10, loc="left")
    ax.set_ylim(0, 140)  # room above the limit line for the legend
    ax.set_xlim(0, max(end, 1 / 60))
    ax.set_ylabel("% of limit")
    ax.grid(True, alpha=0.3)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.legend(loc="upper right", fontsize=8, ncol=4, frameon=False)
