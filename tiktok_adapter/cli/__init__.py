"""The ``tiktok-adapter`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..core.endpoints import PRESETS
from ..exceptions import ConfigurationError, TikTokAdapterError
from ..settings import redact
from . import demo_command, limits, status
from .output import CommandError, Output

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
    from ..testing import PRESET, TikTokApp, resolve_mode
    from ..testing.clock import ScaledClock
    from ..testing.server import SimulatorServer, read_limit_file

    console = Output(sys.stderr)
    limits: dict[str, str] | None = None
    app_limit: str | None = PRESET
    file_preset: str | None = None
    if args.limits:
        try:
            spec = read_limit_file(args.limits)
        except (OSError, ValueError) as exc:
            console.line(f"{PROG} simulate: cannot use --limits {args.limits}: {exc}", style="red")
            return 1
        limits, app_limit, file_preset = spec.limits, spec.app_limit, spec.preset
    # A bad --preset/--tier/--api is a usage error (exit 2), raised before anything binds.
    # --preset wins over the file's; the file's rows merge over whichever preset runs.
    mode = resolve_mode(args.preset or file_preset, args.tier, args.api)
    if not _is_loopback(args.host):
        console.line(f"warning: {args.host} is not a loopback address", style="yellow")
    headers = mode.family.default_headers
    off = {name.replace("-", "_"): False for name in args.no_header}
    try:
        app = TikTokApp(limits=limits, app_limit=app_limit, clock=ScaledClock(args.time_scale),
                        seed=args.seed, videos=args.videos, preset=mode.preset_name,
                        tier=mode.tier, api=mode.api,
                        headers=dataclasses.replace(headers, **off))  # fmt: skip
        server = SimulatorServer(app, args.host, args.port)
    except (OSError, ValueError) as exc:
        console.line(f"{PROG} simulate: {exc}", style="red")
        return 1
    rows = f" + {len(limits)} rows from {args.limits}" if limits else ""
    console.line(f"TikTok simulator on {server.url} (time x{args.time_scale:g}, "
                  f"{mode.api} API, preset {mode.preset.name}{rows}, "
                  f"app limit {app.app_limit or 'none'}); Ctrl-C stops it")  # fmt: skip
    for path, text in app.limits.items():
        console.line(f"  {path:<34} {text}")
    _stop_on_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    refused = app.count(refused=True)
    label = mode.family.refusal_label
    console.line(f"served {len(app.requests)} requests, {refused} answered {label}")
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


# -- dispatch ---------------------------------------------------------------------------

# One add-parser function per command; each sets ``handler`` to its run function.
COMMANDS: Sequence[Callable[[Any], None]] = (
    limits.add_parser,
    add_simulate,
    lambda subparsers: demo_command.add_parser(subparsers, _positive, _count, _videos),
    status.add_parser,
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

    Exit codes: 0 success; 1 failure, where any error of the package (or a missing
    extra) is one line on stderr and never a traceback; 2 a usage or configuration error.
    """
    if argv is None:  # the console script: this process is ours to configure
        _configure_logging()
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
    except ConfigurationError as exc:  # a bad setting: a usage error
        _error(exc)
        return 2
    except (TikTokAdapterError, CommandError) as exc:  # one line, never a traceback
        _error(exc)
        return 1
    except KeyboardInterrupt:
        return 130


class _OneLine(logging.Formatter):
    """A record as one line: no traceback, no stack, no line breaks."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(super().format(record).split())

    def formatException(self, ei: Any) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""


def _configure_logging() -> None:
    """The package's own warnings, one line each; no other library's log records.

    Unconfigured, Python prints every library's warnings and errors with their
    tracebacks (redis-py logs one for a cluster it cannot reach); such a failure reaches
    the user as the package's own one-line error instead.
    """
    root = logging.getLogger()
    if root.handlers:  # the caller has configured logging already
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(lambda record: record.name.partition(".")[0] == "tiktok_adapter")
    handler.setFormatter(_OneLine(f"{PROG}: %(levelname)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)


def _error(exc: BaseException) -> None:
    # A storage URI with a password may be inside the message; it never reaches the terminal.
    message = " ".join(str(redact(str(exc))).split()) or type(exc).__name__
    sys.stderr.write(f"{PROG}: error: {message}\n")


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1
