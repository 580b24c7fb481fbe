"""Keep any TikTok API client inside the API's rate limits.

The public names are these 25, and the public modules ``tiktok_adapter.httpx``,
``tiktok_adapter.aiohttp``, ``tiktok_adapter.cache``, ``tiktok_adapter.pagination``,
``tiktok_adapter.metrics``, ``tiktok_adapter.adapter``, ``tiktok_adapter.exceptions``
and ``tiktok_adapter.testing`` (the simulator, ``FakeClock``, the pytest plugin); every
other module is private. The names that need requests (the adapter, mount, install) load
on first use, so the core, settings and storage import without it: an httpx-only or
aiohttp-only install works.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from ._log_redaction import redact_tokens
from .core.budget import Budget, EndpointBudget, WindowBudget
from .core.endpoints import PRESETS, Preset
from .core.events import Event, EventKind
from .core.refusal import RefusalPolicy, TikTokRefusals
from .core.stats import EndpointStats, Stats
from .exceptions import (
    ConfigurationError,
    QuotaExhausted,
    RateLimitExceeded,
    StorageUnavailable,
    TikTokAdapterError,
)
from .priority import Priority, priority
from .settings import Settings

if TYPE_CHECKING:
    from ._requests.install import install, installed, uninstall
    from ._requests.mounting import mount
    from .adapter import TikTokAdapter

__version__ = "0.1.0"

# Public names that import requests, by the module that defines them.
_NEEDS_REQUESTS = {
    "install": "._requests.install",
    "installed": "._requests.install",
    "uninstall": "._requests.install",
    "mount": "._requests.mounting",
    "TikTokAdapter": ".adapter",
}

# Names this module exported before 0.2, and where they live now: they still resolve,
# with a DeprecationWarning that names the new home.
_MOVED = {
    "FakeClock": "tiktok_adapter.testing",
    "Clock": "tiktok_adapter.testing",
    "SystemClock": "tiktok_adapter.testing",
    "SYSTEM_CLOCK": "tiktok_adapter.testing",
    "OPEN_API_BASE": "tiktok_adapter.adapter",
    "HostRouter": "tiktok_adapter.adapter",
    "Installation": "tiktok_adapter.adapter",
    "PaginationError": "tiktok_adapter.pagination",
    "TikTokAPIError": "tiktok_adapter.pagination",
    "DEFAULT_LIMITS": "tiktok_adapter.core.endpoints",
    "Endpoint": "tiktok_adapter.core.endpoints",
    "EndpointTable": "tiktok_adapter.core.endpoints",
    "Refusal": "tiktok_adapter.core.refusal",
    "RetryPolicy": "tiktok_adapter.core.retry",
    "RateInfo": "tiktok_adapter.core.headers",
    "parse_rate_headers": "tiktok_adapter.core.headers",
    "parse_reset": "tiktok_adapter.core.headers",
    "parse_retry_after": "tiktok_adapter.core.headers",
}


def __getattr__(name: str) -> Any:
    module = _NEEDS_REQUESTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"tiktok_adapter.{name} moved to {home}.{name}; import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(home), name)


__all__ = [
    "PRESETS",
    "Budget",
    "ConfigurationError",
    "EndpointBudget",
    "EndpointStats",
    "Event",
    "EventKind",
    "Preset",
    "Priority",
    "QuotaExhausted",
    "RateLimitExceeded",
    "RefusalPolicy",
    "Settings",
    "Stats",
    "StorageUnavailable",
    "TikTokAdapter",
    "TikTokAdapterError",
    "TikTokRefusals",
    "WindowBudget",
    "install",
    "installed",
    "mount",
    "priority",
    "redact_tokens",
    "uninstall",
]
