"""Keep any requests-based code inside the TikTok API's rate limits."""

from __future__ import annotations

from ._clock import SYSTEM_CLOCK, Clock, FakeClock, SystemClock
from ._endpoints import DEFAULT_LIMITS, PRESETS, Endpoint, EndpointTable, Preset
from ._headers import RateInfo, parse_rate_headers, parse_reset, parse_retry_after
from ._refusal import Refusal, RefusalPolicy, TikTokRefusals
from ._retry import RetryPolicy
from ._settings import Settings
from .adapter import OPEN_API_BASE, TikTokAdapter, mount
from .exceptions import (
    ConfigurationError,
    QuotaExhausted,
    RateLimitExceeded,
    StorageUnavailable,
    TikTokAdapterError,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "OPEN_API_BASE",
    "PRESETS",
    "SYSTEM_CLOCK",
    "Clock",
    "ConfigurationError",
    "Endpoint",
    "EndpointTable",
    "FakeClock",
    "Preset",
    "QuotaExhausted",
    "RateInfo",
    "RateLimitExceeded",
    "Refusal",
    "RefusalPolicy",
    "RetryPolicy",
    "Settings",
    "StorageUnavailable",
    "SystemClock",
    "TikTokAdapter",
    "TikTokAdapterError",
    "TikTokRefusals",
    "mount",
    "parse_rate_headers",
    "parse_reset",
    "parse_retry_after",
]
