"""``tiktok-adapter simulate``: the TikTok API simulator as a loopback HTTP server."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import ipaddress
import json
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

from ..core.endpoints import PRESETS
from .args import count_up_to, port, positive, whole
from .output import CommandError, Output, UsageError

if TYPE_CHECKING:
    from ..testing import TikTokApp
    from ..testing.server import LimitFile, SimulatorServer

HEADER_NAMES = ("limit", "remaining", "reset", "retry-after", "date")
SIMULATED_APIS = ("v2", "business")
# The fake account's videos are built up front, about 0.1 ms each: past this the server
# takes long seconds to start, and far past it memory runs out.
MAX_VIDEOS = 100_000


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate", help="serve a simulated TikTok API on loopback",
        description="Serve the TikTok API simulator over HTTP, enforcing a preset's limit "
        "table (the seed's unless --preset or --limits says otherwise) and refusing past it "
        "the way the API family does: 429 for v2 and Research, a 200 with code 40100 for "
        "the API for Business (--api business).",
    )  # fmt: skip
    parser.add_argument("--port", type=port, default=8080,
                        help="port, 0 to 65535 (0 picks a free one)")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument(
        "--time-scale", type=positive, default=1.0,
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
    parser.add_argument("--seed", type=whole, default=0, help="seed of the fake data")
    parser.add_argument("--videos", type=count_up_to(MAX_VIDEOS, "the simulator builds"),
                        default=60, help="videos of the fake account")  # fmt: skip
    # TikTok documents no rate header, so the simulator sends none unless asked.
    parser.add_argument(
        "--rate-headers", action="store_true",
        help="send X-RateLimit-* and Retry-After (TikTok documents none)",
    )  # fmt: skip
    parser.add_argument("--no-header", action="append", default=[], choices=HEADER_NAMES,
                        help="do not send this header (repeatable)")  # fmt: skip
    parser.set_defaults(handler=run)


def read_limits(path: str) -> LimitFile:
    """The --limits file, each of its limits checked: a usage error names the file and
    the row, before anything binds."""
    from ..testing import PRESET, parse_limits
    from ..testing.server import read_limit_file

    try:
        spec = read_limit_file(path)
    except FileNotFoundError:
        raise UsageError("--limits", f"{path!r} does not exist") from None
    except IsADirectoryError:
        raise UsageError("--limits", f"{path!r} is a folder, not a JSON file") from None
    except OSError as exc:
        raise UsageError("--limits", f"cannot read {path!r}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError("--limits", f"{path!r}: not JSON: {exc}") from None
    except UnicodeDecodeError:
        raise UsageError("--limits", f"{path!r} is not UTF-8 text") from None
    except ValueError as exc:  # not the shape of a limits file, or an unknown preset
        detail = " ".join(str(exc).split())
        if detail.startswith(f"{path}: "):
            detail = detail[len(path) + 2 :]
        raise UsageError("--limits", f"{path!r}: {detail}") from None
    rows = {f"limits[{key!r}]": text for key, text in spec.limits.items()}
    if spec.app_limit is not None and spec.app_limit != PRESET:
        rows["app_limit"] = spec.app_limit
    for where, text in rows.items():
        try:
            parse_limits(text)
        except ValueError as exc:
            raise UsageError("--limits", f"{path!r}: {where}: {exc}") from None
    return spec


def run(args: argparse.Namespace) -> int:
    from ..testing import PRESET, RateHeaders, TikTokApp, resolve_mode
    from ..testing.clock import ScaledClock

    console = Output(sys.stderr)
    limits: dict[str, str] | None = None
    app_limit: str | None = PRESET
    file_preset: str | None = None
    if args.limits:
        spec = read_limits(args.limits)
        limits, app_limit, file_preset = spec.limits, spec.app_limit, spec.preset
    # A bad --preset/--tier/--api is a usage error (exit 2), raised before anything binds.
    # --preset wins over the file's; the file's rows merge over whichever preset runs.
    mode = resolve_mode(args.preset or file_preset, args.tier, args.api)
    headers = RateHeaders() if args.rate_headers else mode.family.default_headers
    off = {name.replace("-", "_"): False for name in args.no_header}
    try:
        app = TikTokApp(limits=limits, app_limit=app_limit, clock=ScaledClock(args.time_scale),
                        seed=args.seed, videos=args.videos, preset=mode.preset_name,
                        tier=mode.tier, api=mode.api,
                        headers=dataclasses.replace(headers, **off))  # fmt: skip
    except ValueError as exc:
        if not args.limits:
            raise  # the command line's own values were checked: this is a bug
        raise UsageError("--limits", f"{args.limits!r}: {exc}") from None
    server = _listen(app, args.host, args.port)
    if not _is_loopback(args.host):
        console.line(f"warning: {args.host} is not a loopback address", style="yellow")
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


def _listen(app: TikTokApp, host: str, number: int) -> SimulatorServer:
    """The bound server; a host that is not this machine's is a usage error, an address
    the system refuses (in use, privileged) a failure, each one line."""
    from ..testing.server import SimulatorServer

    try:
        return SimulatorServer(app, host, number)
    except socket.gaierror:
        raise UsageError("--host", f"{host!r} is not a name this machine resolves") from None
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UsageError("--host", f"{host!r} is not an address of this machine") from None
        why = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            why += " (another server? --port 0 picks a free one)"
        raise CommandError(f"cannot listen on {host}:{number}: {why}") from None


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
