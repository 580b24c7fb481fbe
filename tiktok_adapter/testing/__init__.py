"""Offline stand-ins for the TikTok API, for tests and demos."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.clock import SYSTEM_CLOCK, Clock, FakeClock, SystemClock
    from ._app import PRESET, RateHeaders, RecordedRequest, Reply, TikTokApp
    from ._data import Comment, ModerationAction
    from ._modes import resolve_mode
    from ._windows import parse_limits
    from .clock import ScaledClock, ThreadedFakeClock
    from .fake import FakeTikTok
    from .server import SimulatorServer

__all__ = [
    "PRESET",
    "SYSTEM_CLOCK",
    "Clock",
    "Comment",
    "FakeClock",
    "FakeTikTok",
    "ModerationAction",
    "RateHeaders",
    "RecordedRequest",
    "Reply",
    "ScaledClock",
    "SimulatorServer",
    "SystemClock",
    "ThreadedFakeClock",
    "TikTokApp",
    "parse_limits",
    "resolve_mode",
]

# Imported on first use: the pytest plugin lives in this package, and loading it must
# not pull in `responses` (an optional test dependency) for every pytest run.
_HOMES = {
    "PRESET": "._app",
    "parse_limits": "._windows",
    "resolve_mode": "._modes",
    "Comment": "._data",
    "FakeTikTok": ".fake",
    "ModerationAction": "._data",
    "RateHeaders": "._app",
    "RecordedRequest": "._app",
    "Reply": "._app",
    "ScaledClock": ".clock",
    "ThreadedFakeClock": ".clock",
    "FakeClock": "..core.clock",
    "Clock": "..core.clock",
    "SystemClock": "..core.clock",
    "SYSTEM_CLOCK": "..core.clock",
    "SimulatorServer": ".server",
    "TikTokApp": "._app",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
