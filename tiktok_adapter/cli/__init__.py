"""The ``tiktok-adapter`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import ConfigurationError, TikTokAdapterError
from ..settings import redact
from . import demo_command, limits, simulate, status
from .args import Parser, package_version
from .output import CommandError, UsageError

PROG = "tiktok-adapter"


# -- dispatch ---------------------------------------------------------------------------

# One add-parser function per command; each sets ``handler`` to its run function.
COMMANDS: Sequence[Callable[[Any], None]] = (
    limits.add_parser,
    simulate.add_parser,
    demo_command.add_parser,
    status.add_parser,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG, description="Tools for tiktok_adapter: limit tables, a simulator, a demo."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    # A command's own usage error (found after parsing) is printed under its name.
    for sub in subparsers.choices.values():
        sub.set_defaults(command_prog=sub.prog)
    names = ", ".join(subparsers.choices)

    def no_command(args: argparse.Namespace) -> int:
        parser.error(f"choose a command ({names}); see {PROG} --help")

    parser.set_defaults(handler=no_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and ``python -m tiktok_adapter``.

    Exit codes: 0 success; 1 failure, where any error of the package (or a missing
    extra) is one line on stderr and never a traceback; 2 a usage or configuration error,
    also one line, naming the option or setting, the value and what is valid. Anything
    else is a bug, and keeps its traceback.
    """
    if argv is None:  # the console script: this process is ours to configure
        _configure_logging()
    parser = build_parser()
    args = argparse.Namespace()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return int(handler(args))
    except SystemExit as exc:  # argparse: 0 after --help or --version, 2 on a usage error
        return _exit_code(exc.code)
    except UsageError as exc:  # a value argparse could not judge, said as argparse would
        _error(exc, getattr(args, "command_prog", PROG))
        return 2
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


def _error(exc: BaseException, prog: str = PROG) -> None:
    # A storage URI with a password may be inside the message; it never reaches the terminal.
    message = " ".join(str(redact(str(exc))).split()) or type(exc).__name__
    sys.stderr.write(f"{prog}: error: {message}\n")


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1
