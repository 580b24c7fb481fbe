"""Offline stand-ins for the TikTok API, for tests and demos."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import RateHeaders, RecordedRequest, Reply, TikTokApp
    from ._data import Comment, ModerationAction
    from .clock import ScaledClock
    from .fake import FakeTikTok
    from .server import SimulatorServer

__all__ = [
    "Comment",
    "FakeTikTok",
    "ModerationAction",
    "RateHeaders",
    "RecordedRequest",
    "Reply",
    "ScaledClock",
    "SimulatorServer",
    "TikTokApp",
]

# Imported on first use: the pytest plugin lives in this package, and loading it must
# not pull in `responses` (an optional test dependency) for every pytest run.
_HOMES = {
    "Comment": "._data",
    "FakeTikTok": ".fake",
    "ModerationAction": "._data",
    "RateHeaders": "._app",
    "RecordedRequest": "._app",
    "Reply": "._app",
    "ScaledClock": ".clock",
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
