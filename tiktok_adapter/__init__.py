"""Keep any requests-based code inside the TikTok API's rate limits."""

from __future__ import annotations

from ._budget import Budget, EndpointBudget, WindowBudget
from ._clock import SYSTEM_CLOCK, Clock, FakeClock, SystemClock
from ._endpoints import DEFAULT_LIMITS, PRESETS, Endpoint, EndpointTable, Preset
from ._events import Event, EventKind
from ._install import Installation, install, installed, uninstall
from ._log_redaction import redact_tokens
from ._mounting import HostRouter, mount
from .adapter import OPEN_API_BASE, TikTokAdapter
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

__version__ = "0.1.0"

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
