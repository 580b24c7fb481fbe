"""The ``tiktok-adapter`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import _cli_status
from ._endpoints import PRESETS, get_preset
from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from rich.table import Table

    from .demo import DemoReport

PROG = "tiktok-adapter"
HEADER_NAMES = ("limit", "remaining", "reset", "retry-after", "date")
SIMULATED_APIS = ("v2", "business")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _videos(text: str) -> int:
    from .demo import MAX_VIDEOS

    value = _count(text)
    if value > MAX_VIDEOS:
        raise argparse.ArgumentTypeError(f"{text!r}: the demo moderates {MAX_VIDEOS} at most")
    return value


# -- limits -----------------------------------------------------------------------------


def add_limits(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "limits", help="print the effective limit table",
        description="Print a preset's limit table: each endpoint's limits, whether it is "
        "read-only (safe to re-send and cache), and the app-wide limit.",
    )  # fmt: skip
    parser.add_argument("--preset", default="seed", choices=sorted(PRESETS), help="the table")
    parser.add_argument("--tier", default=None, help="Business API tier (with --preset business)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(handler=run_limits)


def run_limits(args: argparse.Namespace) -> int:
    preset = get_preset(args.preset, args.tier)
    if args.json:
        rows = [
            {"endpoint": e.path, "limits": e.limits, "read_only": e.read_only,
             "counts_toward_app": e.counts_toward_app}
            for e in preset.endpoints
        ]  # fmt: skip
        doc = {"preset": preset.name, "app_limit": preset.app_limit, "endpoints": rows}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{preset.name}: {preset.description}", title_justify="left")
    for column in ("endpoint", "limits", "read-only", "counts toward app"):
        table.add_column(column)
    for e in preset.endpoints:
        table.add_row(e.path, e.limits, _yes(e.read_only), _yes(e.counts_toward_app))
    console = Console()
    console.print(table)
    console.print(f"app limit: {preset.app_limit or 'none'}    base URL: {preset.base_url}")
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# -- simulate ---------------------------------------------------------------------------


def add_simulate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate", help="serve a simulated TikTok API on loopback",
        description="Serve the TikTok API simulator over HTTP, enforcing a preset's limit "
        "table (the seed's unless --preset or --limits says otherwise) and refusing past it "
        "the way the API family does: 429 for v2 and Research, a 200 with code 40100 for "
        "the API for Business (--api business).",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument(
        "--time-scale", type=_positive, default=1.0,
        help="simulated seconds per real second (60: a minute lasts a second)",
    )  # fmt: skip
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None,
                        help="the limit table and API family (default: seed, or business "
                        "with --api business)")  # fmt: skip
    parser.add_argument("--tier", default=None, help="Business API tier (with the business preset)")
    parser.add_argument("--api", choices=SIMULATED_APIS, default=None,
                        help="the API family that answers (default: the preset's)")  # fmt: skip
    parser.add_argument(
        "--limits", metavar="FILE",
        help='JSON: {"limits": {path: "10/minute"}, "app_limit": "1000/hour"}',
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the fake data")
    parser.add_argument("--videos", type=_count, default=60, help="videos of the fake account")
    parser.add_argument("--no-header", action="append", default=[], choices=HEADER_NAMES,
                        help="do not send this rate header (repeatable)")  # fmt: skip
    parser.set_defaults(handler=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .testing._app import PRESET, TikTokApp
    from .testing._modes import resolve_mode
    from .testing.clock import ScaledClock
    from .testing.server import SimulatorServer, load_limits

    console = Console(stderr=True)
    # A bad --preset/--tier/--api is a usage error (exit 2), raised before anything binds.
    mode = resolve_mode(args.preset, args.tier, args.api)
    if not _is_loopback(args.host):
        console.print(f"[yellow]warning: {args.host} is not a loopback address[/]")
    limits: dict[str, str] | None = None
    app_limit: str | None = PRESET
    if args.limits:
        try:
            limits, app_limit = load_limits(args.limits)
        except (OSError, ValueError) as exc:
            console.print(f"[red]{PROG} simulate: cannot use --limits {args.limits}: {exc}[/]")
            return 1
    headers = mode.family.default_headers
    off = {name.replace("-", "_"): False for name in args.no_header}
    try:
        app = TikTokApp(limits=limits, app_limit=app_limit, clock=ScaledClock(args.time_scale),
                        seed=args.seed, videos=args.videos, preset=mode.preset_name,
                        tier=mode.tier, api=mode.api,
                        headers=dataclasses.replace(headers, **off))  # fmt: skip
        server = SimulatorServer(app, args.host, args.port)
    except (OSError, ValueError) as exc:
        console.print(f"[red]{PROG} simulate: {exc}[/]")
        return 1
    console.print(f"TikTok simulator on [bold]{server.url}[/] (time x{args.time_scale:g}, "
                  f"{mode.api} API, preset {mode.preset.name}, "
                  f"app limit {app.app_limit or 'none'}); Ctrl-C stops it")  # fmt: skip
    for path, spec in app.limits.items():
        console.print(f"  {path:<34} {spec}")
    _stop_on_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    refused = app.count(refused=True)
    label = mode.family.refusal_label
    console.print(f"served {len(app.requests)} requests, {refused} answered {label}")
    return 0


def _stop_on_sigterm() -> None:
    """Let a service manager's SIGTERM end the server as Ctrl-C does, with the summary."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- demo -------------------------------------------------------------------------------


def add_demo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="watch the adapter keep a moderation bot inside the limits",
        description="Run a moderation bot (list videos, query them, list, delete, pin and "
        "create comments) from several threads against the simulator on loopback, with "
        "time sped up. Exits 1 if any call ended in a 429 or an error.",
    )  # fmt: skip
    parser.add_argument("--time-scale", type=_positive, default=60.0,
                        help="simulated seconds per real second (default 60)")  # fmt: skip
    parser.add_argument("--workers", type=_count, default=4, help="bot threads (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fake data")
    parser.add_argument("--videos", type=_videos, default=60, help="videos to moderate (<= 90)")
    parser.set_defaults(handler=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    from .demo import run_demo

    console = Console()
    with Live(console=console, refresh_per_second=8, transient=True) as live:
        report = run_demo(
            time_scale=args.time_scale, workers=args.workers, seed=args.seed,
            videos=args.videos, on_tick=lambda r: live.update(_demo_table(r, live=True)),
        )  # fmt: skip
    console.print(_demo_table(report, live=False))
    ratio = report.makespan / report.ideal if report.ideal else 1.0
    console.print(
        f"makespan {_span(report.makespan)} simulated against an ideal of "
        f"{_span(report.ideal)} ({ratio:.2f}x); {report.real_seconds:.1f} s real "
        f"at x{report.time_scale:g}"
    )
    for error in report.errors[:10]:
        console.print(f"[red]error:[/] {error}")
    if report.ok:
        note = f", {report.rate_limited} recovered 429s" if report.rate_limited else ", no 429s"
        console.print(f"[green]every call succeeded{note}[/]")
        return 0
    console.print(f"[red]{report.failed} calls failed[/]")
    return 1


def _demo_table(report: DemoReport, *, live: bool) -> Table:
    from rich.table import Table

    title = f"simulated {_span(report.makespan)}" if live else "per endpoint"
    table = Table(title=f"moderation bot: {title}", title_justify="left")
    columns = ["endpoint", "sent", "waiting" if live else "waited", "wait s", "429s", "failed"]
    if not live:
        columns.append("ideal span")
    for column in columns:
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for r in report.rows:
        cells = [r.endpoint, str(r.sent), str(r.waiting if live else r.waited),
                 f"{r.wait_seconds:.0f}", str(r.rate_limited), str(r.failed)]  # fmt: skip
        if not live:
            cells.append(_span(r.ideal))
        table.add_row(*cells)
    rows = report.rows
    total = ["total", str(sum(r.sent for r in rows)),
             str(sum(r.waiting if live else r.waited for r in rows)),
             f"{sum(r.wait_seconds for r in rows):.0f}", str(report.rate_limited),
             str(report.failed)]  # fmt: skip
    if not live:
        total.append(_span(report.ideal))
    table.add_section()
    table.add_row(*total, style="bold")
    return table


def _span(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}m{rest:04.1f}s"


# -- dispatch ---------------------------------------------------------------------------

# One add-parser function per command; each sets ``handler`` to its run function.
COMMANDS: Sequence[Callable[[Any], None]] = (
    add_limits,
    add_simulate,
    add_demo,
    _cli_status.add_parser,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Tools for tiktok_adapter: limit tables, a simulator, a demo."
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and ``python -m tiktok_adapter``.

    Exit codes: 0 success, 1 failure, 2 usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
        handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_usage(sys.stderr)
            sys.stderr.write(f"{PROG}: error: choose a command; see {PROG} --help\n")
            return 2
        return int(handler(args))
    except SystemExit as exc:  # argparse: 0 after --help, 2 on a usage error
        return _exit_code(exc.code)
    except ConfigurationError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1
