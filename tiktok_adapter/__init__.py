"""Keep any requests-based code inside the TikTok API's rate limits.

The names that need requests (the adapter, mount, install) load on first use, so the
core, settings and storage import without it: an httpx-only install works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._log_redaction import redact_tokens
from .core.budget import Budget, EndpointBudget, WindowBudget
from .core.clock import SYSTEM_CLOCK, Clock, FakeClock, SystemClock
from .core.endpoints import DEFAULT_LIMITS, PRESETS, Endpoint, EndpointTable, Preset
from .core.events import Event, EventKind
from .core.headers import RateInfo, parse_rate_headers, parse_reset, parse_retry_after
from .core.refusal import Refusal, RefusalPolicy, TikTokRefusals
from .core.retry import RetryPolicy
from .core.stats import EndpointStats, Stats
from .exceptions import (
    ConfigurationError,
    PaginationError,
    QuotaExhausted,
    RateLimitExceeded,
    StorageUnavailable,
    TikTokAdapterError,
    TikTokAPIError,
)
from .priority import Priority, priority
from .settings import Settings

if TYPE_CHECKING:
    from ._requests.install import Installation, install, installed, uninstall
    from ._requests.mounting import HostRouter, mount
    from .adapter import OPEN_API_BASE, TikTokAdapter

__version__ = "0.1.0"

# Public names that import requests, by the module that defines them.
_NEEDS_REQUESTS = {
    "Installation": "._requests.install",
    "install": "._requests.install",
    "installed": "._requests.install",
    "uninstall": "._requests.install",
    "HostRouter": "._requests.mounting",
    "mount": "._requests.mounting",
    "OPEN_API_BASE": ".adapter",
    "TikTokAdapter": ".adapter",
}


def __getattr__(name: str) -> Any:
    module = _NEEDS_REQUESTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "DEFAULT_LIMITS",
    "OPEN_API_BASE",
    "PRESETS",
    "SYSTEM_CLOCK",
    "Budget",
    "Clock",
    "ConfigurationError",
    "Endpoint",
    "EndpointBudget",
    "EndpointStats",
    "EndpointTable",
    "Event",
    "EventKind",
    "FakeClock",
    "HostRouter",
    "Installation",
    "PaginationError",
    "Preset",
    "Priority",
    "QuotaExhausted",
    "RateInfo",
    "RateLimitExceeded",
    "Refusal",
    "RefusalPolicy",
    "RetryPolicy",
    "Settings",
    "Stats",
    "StorageUnavailable",
    "SystemClock",
    "TikTokAPIError",
    "TikTokAdapter",
    "TikTokAdapterError",
    "TikTokRefusals",
    "WindowBudget",
    "install",
    "installed",
    "mount",
    "parse_rate_headers",
    "parse_reset",
    "parse_retry_after",
    "priority",
    "redact_tokens",
    "uninstall",
]
