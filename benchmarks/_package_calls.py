"""How many calls into tiktok_adapter one plain 200 takes.

Counted with ``sys.setprofile`` on the calling thread, for one GET after a few to warm
the connection and the route caches: every "call" event of a Python function whose code
lives in the package's directory (the resumption of a generator counts as a call, as it
enters the frame again; calls to C functions and to other packages do not count).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import requests

import tiktok_adapter

PACKAGE = str(Path(tiktok_adapter.__file__).resolve().parent) + os.sep
GOAL = 15  # issue #24 item 7: at most this many calls into the package for a plain 200


def count(get: Callable[[str], requests.Response], url: str, warm: int = 3) -> dict[str, Any]:
    """The calls into the package during one ``get(url)`` answered 200."""
    for _ in range(warm):
        get(url)
    calls: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event != "call":
            return
        code = frame.f_code
        if code.co_filename.startswith(PACKAGE):
            module = code.co_filename[len(PACKAGE) :]
            calls[f"{module}:{getattr(code, 'co_qualname', code.co_name)}"] += 1

    sys.setprofile(profile)
    try:
        response = get(url)
    finally:
        sys.setprofile(None)
    if response.status_code != 200:
        raise RuntimeError(f"the counted request was answered {response.status_code}, not 200")
    modules = Counter(name.split(":", 1)[0] for name in calls.elements())
    return {
        "calls": sum(calls.values()),
        "modules": len(modules),
        "per_module": dict(modules.most_common()),
        "per_function": dict(calls.most_common()),
        "goal": GOAL,
    }
