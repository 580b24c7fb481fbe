"""``tiktok-adapter demo``: the moderation bot, shown live, summarised in 80 columns."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .args import count_up_to, positive, whole
from .output import Column, CommandError, MissingExtra, Output, TextTable, UsageError

if TYPE_CHECKING:
    from .demo_report import DemoReport

# Piped (or without rich), a progress line this often, in real seconds.
PROGRESS_EVERY = 3.0
WIDTH = 80
# What --plot writes, by the file's extension: what matplotlib draws with no other
# program (its .pgf needs LaTeX) and an image viewer or browser opens.
PLOT_FORMATS = ("png", "svg", "pdf")
# Past a few threads the limits, not the workers, set the pace; past this many, starting
# them and measuring their latency alone takes longer than the demo.
MAX_WORKERS = 64


def _videos(text: str) -> int:
    from .demo import MAX_VIDEOS  # the demo's module imports requests: only when asked

    return count_up_to(MAX_VIDEOS, "the demo moderates")(text)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="watch the adapter keep a moderation bot inside the limits",
        description="Run a moderation bot (list videos, query them, list, delete, pin and "
        "create comments) from several threads against the simulator on loopback, with "
        "time sped up. Exits 1 if any call ended in a 429 or an error.",
    )  # fmt: skip
    parser.add_argument("--time-scale", type=positive, default=60.0,
                        help="simulated seconds per real second (default 60)")  # fmt: skip
    parser.add_argument("--workers", type=count_up_to(MAX_WORKERS, "the demo runs"), default=4,
                        help=f"bot threads (default 4, at most {MAX_WORKERS})")  # fmt: skip
    parser.add_argument("--seed", type=whole, default=0, help="seed of the fake data")
    parser.add_argument("--videos", type=_videos, default=60, help="videos to moderate (<= 90)")
    parser.add_argument(
        "--plot", metavar="FILE", default=None,
        help="draw each endpoint's requests against its windows' limits into FILE, "
        "a .png, .svg or .pdf (needs the plot extra: matplotlib)",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.plot is not None:  # say so now, not after the demo has run
        check_plot_path(args.plot)
        _require_matplotlib()
    from .demo import run_demo

    out = Output()
    with _display(out) as on_tick:
        report = run_demo(
            time_scale=args.time_scale, workers=args.workers, seed=args.seed,
            videos=args.videos, on_tick=on_tick,
        )  # fmt: skip
    out.table(summary_table(report))
    for line in summary_lines(report):
        out.line(line)
    if args.plot is not None:
        from .demo_plot import plot_report

        try:
            plot_report(report, args.plot)
        except OSError as exc:
            raise CommandError(f"--plot {args.plot}: cannot write it: {exc}") from None
        out.line(f"plot: {args.plot}")
    for error in report.errors[:10]:
        out.line(_fit(f"error: {error}"), style="red")
    if report.ok:
        note = f", {report.rate_limited} recovered 429s" if report.rate_limited else ", no 429s"
        out.line(f"every call succeeded{note}", style="green")
        return 0
    out.line(f"{report.failed} calls failed", style="red")
    return 1


def check_plot_path(target: str) -> None:
    """A usage error unless ``target`` names a file of a format the plot is drawn in, in a
    folder that exists."""
    path = Path(target)
    suffix = path.suffix[1:].lower()
    if suffix not in PLOT_FORMATS:
        *most, last = (f".{f}" for f in PLOT_FORMATS)
        valid = f"{', '.join(most)} or {last}"
        said = f"a .{suffix} file cannot be drawn" if suffix else "no extension names a format"
        raise UsageError("--plot", f"{target!r}: {said}; name a {valid} file")
    if path.is_dir():
        raise UsageError("--plot", f"{target!r} is a folder; name a file in it")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise UsageError("--plot", f"{target!r}: the folder {folder} does not exist")


def _require_matplotlib() -> None:
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        raise MissingExtra(
            "--plot needs matplotlib, which is not installed: pip install 'tiktok-adapter[plot]'"
        ) from None


@contextlib.contextmanager
def _display(out: Output) -> Iterator[Callable[[DemoReport], None]]:
    """A live table on a terminal with rich; otherwise a progress line every few seconds."""
    if out.rich and out.is_terminal:
        from rich.live import Live

        with Live(console=out.console, refresh_per_second=8, transient=True) as live:
            yield lambda r: live.update(live_table(r).to_rich())
        return
    last = time.monotonic()

    def progress(report: DemoReport) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            out.line(progress_line(report))

    yield progress


def progress_line(report: DemoReport) -> str:
    rows = report.rows
    return _fit(
        f"simulated {span(report.makespan)}: sent {sum(r.sent for r in rows)}, "
        f"waiting {sum(r.waiting for r in rows)}, 429s {report.rate_limited}, "
        f"failed {report.failed} ({report.real_seconds:.0f} s real)"
    )


def live_table(report: DemoReport) -> TextTable:
    columns = ("endpoint", "sent", "waiting", "wait s", "429s", "failed")
    table = TextTable(f"moderation bot: simulated {span(report.makespan)}",
                      tuple(Column(c, right=c != "endpoint") for c in columns))  # fmt: skip
    for r in report.rows:
        table.add_row(r.endpoint, str(r.sent), str(r.waiting), f"{r.wait_seconds:.0f}",
                      str(r.rate_limited), str(r.failed))  # fmt: skip
    return table


def summary_table(report: DemoReport) -> TextTable:
    columns = ("endpoint", "sent", "waited", "wait s", "429s", "failed", "ideal")
    table = TextTable("moderation bot: per endpoint",
                      tuple(Column(c, right=c != "endpoint") for c in columns))  # fmt: skip
    for r in report.rows:
        table.add_row(r.endpoint, str(r.sent), str(r.waited), f"{r.wait_seconds:.0f}",
                      str(r.rate_limited), str(r.failed), span(r.ideal))  # fmt: skip
    rows = report.rows
    table.add_section()
    table.add_row("total", str(sum(r.sent for r in rows)), str(sum(r.waited for r in rows)),
                  f"{sum(r.wait_seconds for r in rows):.0f}", str(report.rate_limited),
                  str(report.failed), span(report.ideal))  # fmt: skip
    return table


def summary_lines(report: DemoReport) -> list[str]:
    """The verdict and what the ideal includes, each line at most 80 columns."""
    model = report.model
    scale = f"x{report.time_scale:g}"
    verdict = (
        f"makespan {span(report.makespan)}, ideal {span(report.ideal)}: "
        f"{report.ratio:.2f}x the ideal ({report.real_seconds:.1f} s real at {scale})"
    )
    latency_real = model.latency / report.time_scale * 1000
    note = (
        f"The ideal sends each request once the bot knows of it and the limit table "
        f"allows, every window widened by the {model.margin:.1f} s margin that loopback "
        f"jitter needs at {scale}, and "
        f"{model.latency:.2f} s ({latency_real:.1f} ms real) per request, so the ratio "
        f"measures the adapter, not the time scale."
    )
    return [_fit(verdict), *textwrap.wrap(note, WIDTH)]


def span(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}m{rest:04.1f}s"


def _fit(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"
