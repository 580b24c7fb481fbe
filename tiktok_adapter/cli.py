"""The ``tiktok-adapter`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and ``python -m tiktok_adapter``."""
    args = sys.argv[1:] if argv is None else argv
    del args
    return 0
