"""The command line's parser and argument types: every bad value is one line and exit 2.

argparse names the option and the value; each type below adds what is valid. A value no
type can judge before the command runs (a file's contents, a plot's format) raises
:class:`~tiktok_adapter.cli.output.UsageError`, which ``main`` prints the same way.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from importlib import metadata
from typing import NoReturn

DISTRIBUTION = "tiktok-adapter"
MAX_PORT = 65535


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line: ``PROG COMMAND: error: argument --x: ...``.

    argparse prints the whole usage before the error; the options are in ``--help``, and
    one line is what a script's log or a user's eye can take in.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def package_version() -> str:
    """The installed distribution's version; the package's own outside an install (a
    source tree on ``sys.path``), which is what the build would stamp."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        from .. import __version__

        return f"{__version__} (not installed)"


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def count(text: str) -> int:
    value = whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def port(text: str) -> int:
    """A TCP port: 0 to 65535, where 0 lets the system pick a free one."""
    value = whole(text)
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port; use 0 to {MAX_PORT} (0 picks a free one)"
        )
    return value


def count_up_to(most: int, what: str) -> Callable[[str], int]:
    """A count of 1 to ``most``; past it, "'500' is more than 90, the most <what>"."""

    def parse(text: str) -> int:
        value = count(text)
        if value > most:
            raise argparse.ArgumentTypeError(f"{text!r} is more than {most}, the most {what}")
        return value

    return parse
